package quaymirror

import (
	"slices"
	"time"
)

// MirrorConfig is a repository's mirror configuration: every field Quay's
// /api/v1/repository/{repo}/mirror endpoint has.
type MirrorConfig struct {
	// Enabled turns scheduled synchronisation on (Quay: is_enabled).
	Enabled bool
	// ExternalReference is the repository to pull from, "host[:port]/path"
	// without scheme or tag (Quay: external_reference).
	ExternalReference string
	// Username is the pull username at the source (Quay:
	// external_registry_username).
	Username string
	// Password is the pull password or token at the source. Quay never
	// returns it: configurations read back have it empty.
	Password Secret
	// SyncInterval is the time between two synchronisations (Quay:
	// sync_interval, whole seconds).
	SyncInterval time.Duration
	// SyncStartDate is the next scheduled start (Quay: sync_start_date). It
	// is sent in whole seconds, UTC.
	SyncStartDate time.Time
	// TagGlobs are the fnmatch patterns of the tags to mirror (Quay:
	// root_rule with rule_kind tag_glob_csv). Never empty.
	TagGlobs []string
	// Robot is the full name ("org+short") of the robot account that pushes
	// into the repository (Quay: robot_username).
	Robot string
	// VerifyTLS requires verified TLS towards the source
	// (external_registry_config.verify_tls; Quay's default is true).
	VerifyTLS bool
	// UnsignedImages allows unsigned images
	// (external_registry_config.unsigned_images).
	UnsignedImages bool
	// Proxy is the proxy the worker uses towards the source
	// (external_registry_config.proxy).
	Proxy Proxy
	// SkopeoTimeout bounds each copy (Quay 3.15+: skopeo_timeout_interval,
	// at least 300 s). Zero means the server's default.
	SkopeoTimeout time.Duration
	// ArchitectureFilter limits the copied platforms (Quay 3.17+:
	// architecture_filter); empty means all.
	ArchitectureFilter []string
}

// Proxy is the proxy configuration of a mirror.
type Proxy struct {
	HTTPProxy  string
	HTTPSProxy string
	NoProxy    string
}

// IsZero reports whether no proxy is set.
func (p Proxy) IsZero() bool { return p == Proxy{} }

// SyncStatus is the state of a mirror's synchronisation.
type SyncStatus string

// Synchronisation states, as Quay names them.
const (
	SyncNeverRun SyncStatus = "NEVER_RUN"
	SyncNow      SyncStatus = "SYNC_NOW"
	SyncSyncing  SyncStatus = "SYNCING"
	SyncSuccess  SyncStatus = "SUCCESS"
	SyncFail     SyncStatus = "FAIL"
	SyncCancel   SyncStatus = "CANCEL"
)

// MirrorStatus is the read-only state of a mirror, kept by Quay's worker.
type MirrorStatus struct {
	SyncStatus SyncStatus `json:"sync_status"`
	// NextSync is the next scheduled start; zero when none (Quay:
	// sync_start_date as read back).
	NextSync time.Time `json:"next_sync,omitzero"`
	// Expiration is when a running synchronisation is considered dead
	// (Quay: sync_expiration_date); zero when not syncing.
	Expiration time.Time `json:"expiration,omitzero"`
	// RetriesRemaining counts the retries left before the mirror gives up
	// until its next interval (Quay: sync_retries_remaining).
	RetriesRemaining int `json:"retries_remaining"`
}

// Mirror is a repository's mirror as read back: its configuration (without
// the password) and its status.
type Mirror struct {
	Config MirrorConfig
	Status MirrorStatus
}

// Field names a mirror configuration field in updates and diffs. The values
// are Quay's JSON keys; nested keys are written "parent.child".
type Field string

// Mirror configuration fields.
const (
	FieldEnabled            Field = "is_enabled"
	FieldExternalReference  Field = "external_reference"
	FieldUsername           Field = "external_registry_username"
	FieldPassword           Field = "external_registry_password"
	FieldSyncInterval       Field = "sync_interval"
	FieldSyncStartDate      Field = "sync_start_date"
	FieldTagGlobs           Field = "root_rule"
	FieldRobot              Field = "robot_username"
	FieldVerifyTLS          Field = "external_registry_config.verify_tls"
	FieldUnsignedImages     Field = "external_registry_config.unsigned_images"
	FieldProxy              Field = "external_registry_config.proxy"
	FieldSkopeoTimeout      Field = "skopeo_timeout_interval"
	FieldArchitectureFilter Field = "architecture_filter"
	// FieldState is not a mirror field: it names a repository state change
	// in diffs (for example NORMAL to MIRROR).
	FieldState Field = "state"
)

var mirrorFields = []Field{
	FieldEnabled, FieldExternalReference, FieldUsername, FieldPassword,
	FieldSyncInterval, FieldSyncStartDate, FieldTagGlobs, FieldRobot,
	FieldVerifyTLS, FieldUnsignedImages, FieldProxy, FieldSkopeoTimeout,
	FieldArchitectureFilter,
}

// MirrorFields returns every mirror configuration field in a stable order.
func MirrorFields() []Field { return slices.Clone(mirrorFields) }

// SameTagGlobs reports whether two glob lists select the same patterns,
// ignoring order and duplicates.
func SameTagGlobs(a, b []string) bool { return sameSet(a, b) }

func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(slices.Compact(x), slices.Compact(y))
}
