package harbor

import (
	"fmt"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// Advice implements quaymirror.Adviser: what to do about a problem with a
// Harbor project as the source, in Harbor's terms.
func (c *Client) Advice(topic quaymirror.Topic, subject string) string {
	switch topic {
	case quaymirror.TopicSourceCredentials:
		return fmt.Sprintf("replace the Harbor credentials of %s: a robot account (robot$%s+<name>, or a system robot) with the "+
			"list and pull permissions on the project's repositories, or a member of the project, with its current secret or password", subject, subject)
	case quaymirror.TopicSourceOrganization:
		return fmt.Sprintf("create project %s in Harbor, or give the credentials access to it: a robot account of the project, "+
			"a project member, or nothing for a public project", subject)
	case quaymirror.TopicSourceListing:
		return fmt.Sprintf("make sure Harbor is reachable and the credentials may list the repositories of project %s "+
			"(a robot account needs the repository list and pull permissions)", subject)
	case quaymirror.TopicSourceEmpty:
		return fmt.Sprintf("if project %s has repositories, give the credentials the repository list and pull permissions on it", subject)
	}
	return ""
}
