package quaymirror

import (
	"fmt"
	"log/slog"
	"regexp"
	"time"
)

// State is the state of a Quay repository.
type State string

// Repository states, as Quay names them.
const (
	// StateNormal is an ordinary repository: pushes are allowed.
	StateNormal State = "NORMAL"
	// StateReadOnly refuses every write.
	StateReadOnly State = "READ_ONLY"
	// StateMirror is a repository mirrored by Quay's repository mirror
	// worker; only the mirror robot may push.
	StateMirror State = "MIRROR"
	// StateOrgMirror is a repository managed by Quay's native
	// organisation-level mirroring (Quay 3.17 and later).
	StateOrgMirror State = "ORG_MIRROR"
)

// Valid reports whether s is one of the states Quay knows.
func (s State) Valid() bool {
	switch s {
	case StateNormal, StateReadOnly, StateMirror, StateOrgMirror:
		return true
	}
	return false
}

// Visibility is the visibility of a repository.
type Visibility string

// Repository visibilities.
const (
	Private Visibility = "private"
	Public  Visibility = "public"
)

// Repository is a repository of a registry namespace (organisation or user).
type Repository struct {
	// Namespace is the organisation or user owning the repository.
	Namespace string `json:"namespace"`
	// Name is the repository name without the namespace. It may contain "/".
	Name string `json:"name"`
	// Description is the repository description (markdown); may be empty.
	Description string `json:"description,omitempty"`
	// Visibility is Public or Private.
	Visibility Visibility `json:"visibility"`
	// State is the repository state.
	State State `json:"state"`
	// Tags holds the repository's tag names when the repository was read on
	// its own with RepositoryReader.GetRepository; listings leave it nil.
	// Quay returns at most 500 tags, so len(Tags) is a lower bound; a
	// TagLister lists them all, with their digests.
	Tags []string `json:"tags,omitempty"`
}

// FullName is "namespace/name".
func (r Repository) FullName() string { return r.Namespace + "/" + r.Name }

// Tag is a tag of a repository: a name pointing at a manifest.
type Tag struct {
	// Name is the tag's name, e.g. "v1.2" (see ValidTagName).
	Name string `json:"name"`
	// Digest is the digest of the manifest, manifest list or image index
	// the tag points at, e.g. "sha256:" and 64 hexadecimal digits. Two
	// registries holding the same image under a tag show the same digest.
	Digest string `json:"digest"`
	// LastModified is when the tag was last pushed or moved to its
	// manifest, in UTC, at the precision the registry keeps (Quay: whole
	// seconds); zero when the registry does not tell.
	LastModified time.Time `json:"last_modified,omitzero"`
}

// TagPage is one page of a tag listing.
type TagPage struct {
	Tags []Tag
	// Next is the token of the next page, empty on the last page.
	Next string
}

// tagNameRe is the OCI distribution specification's tag rule, which
// Quay's TAG_REGEX also applies.
var tagNameRe = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)

// ValidTagName reports whether name is a valid tag name: 1 to 128
// characters, letters, digits, "_", "." and "-", not starting with "."
// or "-".
func ValidTagName(name string) bool { return tagNameRe.MatchString(name) }

// RepositoryPage is one page of a repository listing.
type RepositoryPage struct {
	Repositories []Repository
	// Next is the token of the next page, empty on the last page.
	Next string
}

// Organization is a registry organisation as seen by the caller.
type Organization struct {
	Name string `json:"name"`
	// IsAdmin reports whether the caller may administer the organisation
	// (robots, default permissions, mirror configurations of its
	// repositories).
	IsAdmin bool `json:"is_admin"`
	// IsMember reports whether the caller is a member.
	IsMember bool `json:"is_member"`
}

// User is the account a token acts for.
type User struct {
	Username string `json:"username"`
	// Organizations lists the organisations the user belongs to, when the
	// backend reports them.
	Organizations []string `json:"organizations,omitempty"`
}

// Robot is a robot account of an organisation.
type Robot struct {
	// Name is the full robot name, "org+short".
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// Role is a repository permission role.
type Role string

// Repository roles.
const (
	RoleRead  Role = "read"
	RoleWrite Role = "write"
	RoleAdmin Role = "admin"
)

// Capabilities describes what a destination server supports. Backends that
// can find out implement CapabilityReader.
type Capabilities struct {
	// RepositoryMirroring reports whether repository mirroring is enabled
	// (Quay's FEATURE_REPO_MIRROR).
	RepositoryMirroring bool `json:"repository_mirroring"`
	// OrganizationMirroring reports whether native organisation-level
	// mirroring exists (Quay 3.17+ with FEATURE_ORG_MIRROR).
	OrganizationMirroring bool `json:"organization_mirroring"`
	// SkopeoTimeout reports whether mirror configurations carry a skopeo
	// timeout (Quay 3.15+, where it is required on create).
	SkopeoTimeout bool `json:"skopeo_timeout"`
	// ArchitectureFilter reports whether mirror configurations accept an
	// architecture filter (Quay 3.17+).
	ArchitectureFilter bool `json:"architecture_filter"`
	// SparseIndex reports whether a non-empty architecture filter is
	// accepted where ArchitectureFilter says the field exists: Quay
	// refuses one unless FEATURE_SPARSE_INDEX is on (off by default).
	SparseIndex bool `json:"sparse_index"`
	// ReadOnly reports that the server refuses every write for now
	// (Quay's read-only mode, REGISTRY_STATE: readonly).
	ReadOnly bool `json:"read_only,omitempty"`
	// Version is the server's version when it tells, e.g. "3.17.4".
	Version string `json:"version,omitempty"`
}

// SyncLog is one mirror event from a repository's audit log.
type SyncLog struct {
	// Kind is the Quay log kind, e.g. LogSyncFailed.
	Kind string    `json:"kind"`
	Time time.Time `json:"time"`
	// Message is the event's message, with the tool output (stderr) when
	// Quay recorded it.
	Message string `json:"message,omitempty"`
	// Tag is the tag the event is about, if any.
	Tag string `json:"tag,omitempty"`
}

// Quay log kinds of the repository mirror worker.
const (
	LogSyncStarted    = "repo_mirror_sync_started"
	LogSyncSuccess    = "repo_mirror_sync_success"
	LogSyncFailed     = "repo_mirror_sync_failed"
	LogTagSuccess     = "repo_mirror_sync_tag_success"
	LogTagFailed      = "repo_mirror_sync_tag_failed"
	LogConfigChanged  = "repo_mirror_config_changed"
	LogSyncNowClicked = "repo_mirror_sync_now_requested"
)

// Secret is a string that must never be shown: its String, GoString, Format,
// MarshalText (hence JSON) and LogValue forms are all "[redacted]" (or empty
// for an empty secret). Use Reveal to get the value, only where it is sent.
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret value.
func (s Secret) Reveal() string { return string(s) }

// String returns "[redacted]", or "" for an empty secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString is String, so %#v does not leak the value.
func (s Secret) GoString() string { return s.String() }

// Format makes every fmt verb print the redacted form.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.String())) }

// MarshalText returns the redacted form.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// LogValue keeps log/slog from printing the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }
