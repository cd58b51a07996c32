package quaymirror

import (
	"errors"
	"fmt"
)

// Sentinel errors. Backends wrap them (their own typed errors unwrap to
// them), so callers test with errors.Is whatever the backend.
var (
	// ErrNotFound: the repository, mirror configuration, robot or
	// organisation does not exist (or the caller may not know it does).
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: the repository, mirror configuration or robot
	// exists already.
	ErrAlreadyExists = errors.New("already exists")
	// ErrInvalid: the server rejected the request as invalid.
	ErrInvalid = errors.New("invalid request")
	// ErrUnauthorized: the credentials are missing, wrong or expired.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden: the credentials are valid but not allowed to do this.
	ErrForbidden = errors.New("forbidden")
	// ErrRateLimited: the server kept refusing with 429 after the retries
	// the backend allows.
	ErrRateLimited = errors.New("rate limited")
	// ErrUnavailable: the server could not be reached or kept failing
	// (connection errors, 5xx, read-only mode) after the backend's retries.
	ErrUnavailable = errors.New("registry unavailable")
	// ErrUnsupported: the server lacks the feature (repository mirroring
	// disabled, a field its version does not accept).
	ErrUnsupported = errors.New("not supported by the registry")
	// ErrOrgMirrored: the organisation is managed by native
	// organisation-level mirroring, which forbids per-repository mirrors.
	ErrOrgMirrored = errors.New("organization is managed by organization-level mirroring")
	// ErrBadResponse: the server answered something that cannot be
	// understood (malformed or oversized body, an inconsistent listing).
	ErrBadResponse = errors.New("bad response from registry")
	// ErrInvalidPolicy: a Policy or engine option is invalid. Returned
	// wrapped in *PolicyError.
	ErrInvalidPolicy = errors.New("invalid policy")

	// ErrReadOnly: the registry is in read-only mode and refuses every
	// write for now; retrying does not help. It is also ErrUnavailable.
	ErrReadOnly = fmt.Errorf("registry is in read-only mode: %w", ErrUnavailable)
	// ErrSourceNotAllowed: the destination refuses mirrors that pull from
	// the source location (Quay's protection against server-side request
	// forgery refuses loopback, private and link-local hosts it was not
	// told to allow) or cannot resolve its name. It is also ErrInvalid.
	ErrSourceNotAllowed = fmt.Errorf("the destination refuses the source location: %w", ErrInvalid)
	// ErrNotApplied: the server accepted a write but reading it back
	// shows it was not applied (Quay's tag rule update may land on an
	// orphan rule row).
	ErrNotApplied = errors.New("the server accepted the change but did not apply it")
	// ErrUnreadable: the server holds the object but fails to return it
	// (Quay answers 500 for a mirror whose stored credentials no longer
	// decrypt). Re-sending the whole configuration (Policy.Recreate)
	// repairs such a mirror.
	ErrUnreadable = errors.New("stored but unreadable")
	// ErrRobotNotFound: the robot a mirror configuration names does not
	// exist. It is also ErrInvalid.
	ErrRobotNotFound = fmt.Errorf("robot not found: %w", ErrInvalid)
)

// PolicyError reports an invalid Policy field or engine option.
type PolicyError struct {
	// Field names the setting, e.g. "TagGlobs".
	Field string
	// Reason says what is wrong, e.g. `"[" is not a valid glob`.
	Reason string
}

func (e *PolicyError) Error() string { return e.Field + ": " + e.Reason }

// Unwrap returns ErrInvalidPolicy.
func (e *PolicyError) Unwrap() error { return ErrInvalidPolicy }

func policyErr(field, format string, args ...any) error {
	return &PolicyError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// RepositoryError is a failure of one operation on one repository, as the
// engine reports it.
type RepositoryError struct {
	// Op is the operation, e.g. "create repository", "update mirror".
	Op string
	// Repository is "namespace/name".
	Repository string
	Err        error
}

func (e *RepositoryError) Error() string {
	return e.Op + " " + e.Repository + ": " + e.Err.Error()
}

func (e *RepositoryError) Unwrap() error { return e.Err }
