package quaymirror

import "context"

// The capability interfaces below are what the engine needs from a
// registry. Each method's comment is its contract; registry/registrytest
// checks it for every backend. Errors wrap the sentinels of this package so
// callers can use errors.Is.

// RepositoryLister lists the repositories of a namespace, one page at a
// time.
type RepositoryLister interface {
	// ListRepositories returns the page of namespace's repositories that
	// pageToken names ("" for the first page). Repositories come in a
	// stable order; Next is empty on the last page. Every repository
	// carries Namespace, Name, Visibility and State; Tags is nil. A
	// namespace that does not exist or that the caller cannot see yields an
	// empty page (that is what Quay does), so check credentials first with
	// Authenticator.
	ListRepositories(ctx context.Context, namespace, pageToken string) (RepositoryPage, error)
}

// RepositoryReader reads one repository.
type RepositoryReader interface {
	// GetRepository returns the repository with its tag names. A missing
	// repository yields ErrNotFound.
	GetRepository(ctx context.Context, namespace, name string) (*Repository, error)
}

// RepositoryCreator creates repositories.
type RepositoryCreator interface {
	// CreateRepository creates repo (Namespace, Name, Description,
	// Visibility are used) in state NORMAL. An existing repository yields
	// ErrAlreadyExists; an invalid name ErrInvalid.
	CreateRepository(ctx context.Context, repo Repository) error
}

// StateChanger changes repository states.
type StateChanger interface {
	// ChangeState sets the repository's state to NORMAL, READ_ONLY or
	// MIRROR. It does not check for a mirror configuration (Quay does not
	// either): never set MIRROR on a repository without one. A missing
	// repository yields ErrNotFound; ORG_MIRROR or an unknown state
	// ErrInvalid.
	ChangeState(ctx context.Context, namespace, name string, state State) error
}

// MirrorReader reads mirror configurations.
type MirrorReader interface {
	// GetMirror returns the repository's mirror configuration and status.
	// The password is never returned. A missing repository or a repository
	// without a mirror configuration yields ErrNotFound.
	GetMirror(ctx context.Context, namespace, name string) (*Mirror, error)
}

// MirrorWriter writes mirror configurations.
type MirrorWriter interface {
	// CreateMirror stores cfg as the repository's mirror configuration and
	// sets the repository state to MIRROR in the same step. Status starts
	// at NEVER_RUN with 3 retries. A repository that already has a
	// configuration yields ErrAlreadyExists; a missing one ErrNotFound; an
	// unknown robot ErrRobotNotFound, one of another namespace ErrInvalid;
	// a source location the server refuses to pull from
	// ErrSourceNotAllowed; a server in read-only mode ErrReadOnly.
	CreateMirror(ctx context.Context, namespace, name string, cfg MirrorConfig) error
	// UpdateMirror copies the listed fields of cfg into the repository's
	// mirror configuration and leaves the others alone. Sending
	// FieldPassword sends FieldUsername with it. A repository without a
	// configuration yields ErrNotFound.
	UpdateMirror(ctx context.Context, namespace, name string, cfg MirrorConfig, fields []Field) error
}

// SyncController starts and stops synchronisations.
type SyncController interface {
	// SyncNow asks for a synchronisation as soon as possible (status
	// SYNC_NOW). A repository without a mirror configuration, or one that
	// is SYNCING, yields ErrNotFound (as Quay answers).
	SyncNow(ctx context.Context, namespace, name string) error
	// CancelSync cancels a SYNCING or SYNC_NOW mirror (status CANCEL, no
	// retries left). Any other status yields ErrNotFound.
	CancelSync(ctx context.Context, namespace, name string) error
}

// Source is what the engine reads from the source registry.
type Source interface {
	RepositoryLister
}

// Destination is what the engine reads and writes at the destination.
type Destination interface {
	RepositoryLister
	RepositoryReader
	RepositoryCreator
	StateChanger
	MirrorReader
	MirrorWriter
	SyncController
}

// Optional capabilities, found by type assertion. Preflight uses them when
// a backend has them and reports the check as skipped otherwise.

// Authenticator tells who the credentials belong to.
type Authenticator interface {
	// CurrentUser returns the account the credentials act for. Invalid
	// credentials yield ErrUnauthorized.
	CurrentUser(ctx context.Context) (*User, error)
}

// OrganizationReader reads organisations.
type OrganizationReader interface {
	// GetOrganization returns the organisation as the caller sees it. A
	// missing organisation yields ErrNotFound.
	GetOrganization(ctx context.Context, name string) (*Organization, error)
}

// RobotReader reads robot accounts.
type RobotReader interface {
	// GetRobot returns the robot org+shortname. A missing robot yields
	// ErrNotFound.
	GetRobot(ctx context.Context, org, shortname string) (*Robot, error)
}

// RobotCreator creates robot accounts.
type RobotCreator interface {
	// CreateRobot creates the robot org+shortname. An existing robot
	// yields ErrAlreadyExists.
	CreateRobot(ctx context.Context, org, shortname, description string) (*Robot, error)
}

// PermissionWriter grants repository permissions.
type PermissionWriter interface {
	// SetPermission grants user (a user or a robot "org+short") role on
	// the repository.
	SetPermission(ctx context.Context, namespace, name, user string, role Role) error
}

// CapabilityReader tells what a server supports.
type CapabilityReader interface {
	// Capabilities describes the server. It may be cached by the backend.
	Capabilities(ctx context.Context) (Capabilities, error)
}

// OrgMirrorReader detects native organisation-level mirroring.
type OrgMirrorReader interface {
	// OrganizationMirrored reports whether org has a native
	// organisation-level mirror configuration, which locks repository
	// creation and repository mirror writes in it (Quay 3.17+). Servers
	// without the feature report false.
	OrganizationMirrored(ctx context.Context, org string) (bool, error)
}

// SourceChecker tells whether a server is likely to refuse mirrors that
// pull from a host.
type SourceChecker interface {
	// CheckSource returns nil when nothing suggests that the server
	// refuses mirror configurations whose source is host (host[:port]),
	// and otherwise an error wrapping ErrSourceNotAllowed that says why.
	// A server's allow-list is not readable, so a refusal is a
	// likelihood: preflight reports it as a warning.
	CheckSource(ctx context.Context, host string) error
}

// TagLister lists the tags of a repository, each with the manifest it
// points at and when it last changed. Any registry can offer it, a source
// (Quay, Harbor, an OCI registry) as well as a destination; comparing the
// two sides' listings tells which tags a mirror has not copied yet. Use
// [Tags] to read a whole listing.
type TagLister interface {
	// ListTags returns the page of the repository's tags that pageToken
	// names ("" for the first page); Next is empty on the last page.
	// Walking the pages from "" to the end yields every tag of the
	// repository, however many there are, with its Name, Digest and (when
	// the registry keeps it) LastModified. A tag may be listed on more
	// than one page (a backend's first page may be a summary that the
	// following pages repeat in full): a later listing of a name replaces
	// an earlier one. A tag pushed, moved or deleted during the walk may
	// be missed or listed twice. A repository without tags yields one
	// empty page; a missing repository yields ErrNotFound.
	ListTags(ctx context.Context, namespace, name, pageToken string) (TagPage, error)
}

// SyncLogReader reads a repository's mirror events.
type SyncLogReader interface {
	// SyncLogs returns the repository's recent mirror events, newest
	// first.
	SyncLogs(ctx context.Context, namespace, name string) ([]SyncLog, error)
}
