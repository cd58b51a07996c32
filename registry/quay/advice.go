package quay

import (
	"fmt"
	"net"

	"github.com/quaymirror/quaymirror/quaymirror"
)

var _ quaymirror.Adviser = (*Client)(nil)

// Advice implements quaymirror.Adviser: what to do about a problem on a
// Quay server, in Quay's terms (config.yaml keys, OAuth scopes).
func (c *Client) Advice(topic quaymirror.Topic, subject string) string {
	switch topic {
	case quaymirror.TopicSourceCredentials:
		return fmt.Sprintf("generate a new OAuth token in an application on the source Quay (scopes repo:read and user:read, "+
			"for a user who can read every repository of %s) and store it under the organization's name", subject)
	case quaymirror.TopicDestinationCredentials:
		return fmt.Sprintf("generate a new OAuth token in an application on the destination Quay (scopes repo:admin, repo:create, "+
			"org:admin and user:read, for an administrator of %s) and store it under the organization's name", subject)
	case quaymirror.TopicOrganizationAdmin:
		return fmt.Sprintf("use a token of an administrator of %s with scopes repo:admin, repo:create and org:admin", subject)
	case quaymirror.TopicRepositoryMirroring:
		return "set FEATURE_REPO_MIRROR: true in the destination Quay's config.yaml and run its repository mirror workers"
	case quaymirror.TopicArchitectureFilter:
		return "remove the architecture filter from the configuration, or upgrade the destination to Quay 3.17 or later"
	case quaymirror.TopicSparseIndex:
		return "set FEATURE_SPARSE_INDEX: true in the destination Quay's config.yaml (Quay refuses an architecture filter without it), " +
			"or remove the architecture filter from the configuration"
	case quaymirror.TopicSourceNotAllowed:
		host := subject
		if h, _, err := net.SplitHostPort(subject); err == nil {
			host = h
		}
		return fmt.Sprintf("add %s (or a CIDR covering its addresses, e.g. 10.0.0.0/8) to SSRF_ALLOWED_HOSTS in the destination Quay's "+
			"config.yaml and restart it", host)
	case quaymirror.TopicReadOnly:
		return "take the destination Quay out of read-only mode (REGISTRY_STATE in its config.yaml), then run again"
	}
	return ""
}
