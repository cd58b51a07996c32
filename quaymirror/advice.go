package quaymirror

import "fmt"

// Adviser is an optional backend capability: how to fix a problem on its
// server, in that server's own terms (its settings, its token scopes).
// Preflight checks and organisation-level errors show the backend's
// advice, or a generic one when the backend has none. It keeps what only
// one kind of server means (a Quay config.yaml key, an OAuth scope) out of
// the engine.
type Adviser interface {
	// Advice returns what to do about topic on this server, in a
	// sentence without a final period, or "" to leave the engine's
	// generic advice. subject is what the topic is about, as each Topic
	// says. It does no I/O.
	Advice(topic Topic, subject string) string
}

// Topic is a problem a backend may advise on.
type Topic string

// Topics.
const (
	// TopicSourceCredentials: the source rejected the credentials.
	// Subject: the source organisation.
	TopicSourceCredentials Topic = "source-credentials"
	// TopicDestinationCredentials: the destination rejected the
	// credentials. Subject: the destination organisation.
	TopicDestinationCredentials Topic = "destination-credentials"
	// TopicOrganizationAdmin: the destination credentials may not
	// administer the organisation (robots, repository creation, mirror
	// configurations). Subject: the destination organisation.
	TopicOrganizationAdmin Topic = "organization-admin"
	// TopicRepositoryMirroring: the destination has repository mirroring
	// disabled.
	TopicRepositoryMirroring Topic = "repository-mirroring"
	// TopicArchitectureFilter: the destination's version has no
	// architecture filter, and the policy sets one.
	TopicArchitectureFilter Topic = "architecture-filter"
	// TopicSparseIndex: the destination has the architecture filter but
	// refuses a non-empty one (Capabilities.SparseIndex is false).
	TopicSparseIndex Topic = "sparse-index"
	// TopicSourceNotAllowed: the destination refuses mirrors that pull
	// from the source host (or cannot resolve it). Subject: the source
	// host[:port].
	TopicSourceNotAllowed Topic = "source-not-allowed"
	// TopicReadOnly: the destination refuses every write for now.
	TopicReadOnly Topic = "read-only"
	// TopicSourceOrganization: the source organisation does not exist,
	// or the credentials may not read it. Subject: the source
	// organisation.
	TopicSourceOrganization Topic = "source-organization"
	// TopicSourceListing: the source listing failed. Subject: the source
	// organisation.
	TopicSourceListing Topic = "source-listing"
	// TopicSourceEmpty: the source listing holds no repository, which
	// may be the credentials seeing none. Subject: the source
	// organisation.
	TopicSourceEmpty Topic = "source-empty"
)

// genericAdvice is the advice for a backend that gives none.
func genericAdvice(topic Topic, subject string) string {
	switch topic {
	case TopicSourceCredentials:
		return fmt.Sprintf("replace the source credentials of %s: the source registry rejects them", subject)
	case TopicDestinationCredentials:
		return fmt.Sprintf("replace the destination credentials of %s: the destination registry rejects them", subject)
	case TopicOrganizationAdmin:
		return fmt.Sprintf("use destination credentials that may administer %s", subject)
	case TopicRepositoryMirroring:
		return "enable repository mirroring on the destination registry"
	case TopicArchitectureFilter:
		return "remove the architecture filter from the configuration, or upgrade the destination to a version that has one"
	case TopicSparseIndex:
		return "enable architecture filtering on the destination registry, or remove the architecture filter from the configuration"
	case TopicSourceNotAllowed:
		return fmt.Sprintf("allow the destination registry to pull from %s", subject)
	case TopicReadOnly:
		return "run again once the destination registry accepts writes"
	case TopicSourceOrganization:
		return fmt.Sprintf("create organization %s on the source registry, or use credentials that may read it", subject)
	case TopicSourceListing:
		return "make sure the source registry is reachable and the token may read " + subject
	case TopicSourceEmpty:
		return "if it has repositories, give the token's user read access to them (an organization admin or a team with read on all repositories)"
	}
	return ""
}

// adviceFor asks backend for its advice on topic, falling back to the
// generic advice.
func adviceFor(backend any, topic Topic, subject string) string {
	if a, ok := backend.(Adviser); ok {
		if s := a.Advice(topic, subject); s != "" {
			return s
		}
	}
	return genericAdvice(topic, subject)
}
