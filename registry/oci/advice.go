package oci

import (
	"fmt"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// Advice implements quaymirror.Adviser: what to do about a problem with
// an OCI registry as the source, where an organisation is a path prefix.
func (c *Client) Advice(topic quaymirror.Topic, subject string) string {
	switch topic {
	case quaymirror.TopicSourceCredentials:
		return fmt.Sprintf("replace the source credentials of %s: the registry %s (or its token service) rejects them; "+
			"give a user name and password (or token) that may pull from %s/ and list the catalog", subject, c.base.Host, subject)
	case quaymirror.TopicSourceListing:
		return fmt.Sprintf("if the registry refuses its catalog, read the organization through its own API instead: source type quay "+
			"for a Quay organization, harbor for a Harbor project (Docker Hub has no listing quaymirror can read); otherwise make sure "+
			"%s is reachable and the credentials may list its catalog", c.base.Host)
	case quaymirror.TopicSourceEmpty:
		return fmt.Sprintf("on an OCI registry the organization is a path prefix: check that the repositories are named %s/<name>, "+
			"and that the credentials may see them (a catalog lists only what they may pull)", subject)
	}
	return ""
}
