package quaymirror

import (
	"errors"
	"fmt"
	"strings"
	"sync"
)

// OrganizationError is an error about a whole organisation rather than
// one of its repositories: every repository would meet it. Apply stops
// writing to the organisation when a write meets one (see Apply) and
// reports it once, in Report.OrganizationError, with the fix.
//
// The errors that are about the organisation: ErrSourceNotAllowed (the
// destination refuses the source location), ErrReadOnly, ErrOrgMirrored,
// ErrRobotNotFound, ErrUnauthorized (the destination rejects the
// credentials) and ErrUnsupported (the destination lacks what the policy
// asks for).
type OrganizationError struct {
	// Organization is the destination organisation.
	Organization string `json:"organization"`
	// Repository is the repository whose write met the error.
	Repository string `json:"repository"`
	// Reason says what is wrong, in a sentence.
	Reason string `json:"reason"`
	// Detail is the error the write met, as the backend reported it.
	Detail string `json:"detail"`
	// Fix says what to do about it.
	Fix string `json:"fix"`

	err error
}

func (e *OrganizationError) Error() string {
	return fmt.Sprintf("organization %s: %s (%s); fix: %s", e.Organization, e.Reason, e.Detail, e.Fix)
}

// Unwrap returns the error the write met.
func (e *OrganizationError) Unwrap() error { return e.err }

// organizationError returns the OrganizationError err is, or nil when err
// is about the repository alone.
func (e *Engine) organizationError(err error, repository string) *OrganizationError {
	if err == nil {
		return nil
	}
	p := e.policy
	org := p.DestinationNamespace
	oe := &OrganizationError{Organization: org, Repository: repository, Detail: err.Error(), err: err}
	switch {
	case errors.Is(err, ErrSourceNotAllowed):
		host := p.SourceRegistry
		oe.Reason = "the destination refuses mirrors that pull from " + host
		oe.Fix = adviceFor(e.dst, TopicSourceNotAllowed, host)
	case errors.Is(err, ErrReadOnly):
		oe.Reason = "the destination registry is in read-only mode and refuses every write"
		oe.Fix = adviceFor(e.dst, TopicReadOnly, "")
	case errors.Is(err, ErrOrgMirrored):
		oe.Reason = org + " is managed by organization-level mirroring, which forbids repository mirror configurations"
		oe.Fix = "delete the organization-level mirror configuration of " + org + ", or mirror into another organization"
	case errors.Is(err, ErrRobotNotFound):
		robotOrg, short, _ := SplitRobot(p.Robot)
		oe.Reason = "robot " + p.Robot + " does not exist at the destination"
		oe.Fix = fmt.Sprintf("create robot account %s in %s", short, robotOrg)
	case errors.Is(err, ErrUnauthorized):
		oe.Reason = "the destination rejects the credentials"
		oe.Fix = adviceFor(e.dst, TopicDestinationCredentials, org)
	case errors.Is(err, ErrUnsupported):
		oe.Reason = "the destination does not support what the configuration asks for"
		oe.Fix = "run the preflight check (quaymirror check): its checklist says what the destination lacks"
	default:
		return nil
	}
	return oe
}

// stop is the OrganizationError that stopped an Apply, once one is met.
type stop struct {
	mu  sync.Mutex
	err *OrganizationError
}

func (s *stop) get() *OrganizationError {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// set keeps the first OrganizationError.
func (s *stop) set(oe *OrganizationError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = oe
	}
}

// notAttempted is the result of a repository whose writes an
// OrganizationError stopped before they began.
func notAttempted(it Item, oe *OrganizationError) Result {
	reason, _, _ := strings.Cut(oe.Reason, ":")
	return it.result(OutcomeFailed, fmt.Errorf("not attempted: writes to %s were stopped: %s: %w", oe.Organization, reason, oe), "")
}

// canary returns the index of the item Apply writes alone before the
// others, or -1: the first (in plan order) that creates a mirror
// configuration, where a refusal about the organisation shows first, else
// the first that writes at all.
func canary(items []Item) int {
	first := -1
	for i, it := range items {
		if !writes(it) {
			continue
		}
		if it.Action == ActionCreate || it.Action == ActionConfigure {
			return i
		}
		if first < 0 {
			first = i
		}
	}
	return first
}
