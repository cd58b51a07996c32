package fake

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// Mirrors: configurations, their validation and how a change applies,
// sync-now and cancel, mirror events. This is the one place where Quay's
// mirror semantics live; the Quay emulator serves them over HTTP.

// GetMirror implements quaymirror.MirrorReader. The password is never
// returned.
func (r *Registry) GetMirror(ctx context.Context, namespace, name string) (*quaymirror.Mirror, error) {
	_, rp, end, err := r.beginRepo(ctx, OpGetMirror, namespace, name, r.mirrorLocked)
	if err != nil {
		return nil, err
	}
	defer end()
	if rp.brokenCredentials {
		return nil, refuse(quaymirror.ErrUnavailable, "the stored credentials of %s/%s do not decrypt", namespace, name)
	}
	out := cloneMirror(*rp.mirror)
	out.Config.Password = ""
	return &out, nil
}

// BreakCredentials makes the stored credentials of a repository's mirror
// undecryptable, as a change of Quay's DATABASE_SECRET_KEY does: GetMirror
// then fails with ErrUnavailable until an update sets the username again
// (which does not decrypt the old one, and encrypts the new one with the
// current key).
func (r *Registry) BreakCredentials(namespace, name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, rp, err := r.repoLocked(namespace, name)
	if err != nil || rp.mirror == nil || rp.mirror.Config.Username == "" {
		return fmt.Errorf("fake: %s/%s has no mirror with stored credentials", namespace, name)
	}
	rp.brokenCredentials = true
	return nil
}

// CheckMirrorField validates field f of cfg, for a mirror of a repository
// of namespace, as CreateMirror and UpdateMirror would, without writing
// anything or counting an operation: what a server checks before it
// starts writing. The *Error names the field.
func (r *Registry) CheckMirrorField(namespace string, cfg quaymirror.MirrorConfig, f quaymirror.Field) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	o := r.orgs[namespace]
	if o == nil {
		o = &org{name: namespace}
	}
	return r.checkFieldLocked(o, cfg, f)
}

// mirrorLocked returns a repository that has a mirror configuration, or
// ErrNotFound.
func (r *Registry) mirrorLocked(namespace, name string) (*org, *repo, error) {
	o, rp, err := r.mirroringLocked(namespace, name)
	if err != nil {
		return nil, nil, err
	}
	if rp.mirror == nil {
		return nil, nil, notFound("no mirror configuration for %s/%s", namespace, name)
	}
	return o, rp, nil
}

// CreateMirror implements quaymirror.MirrorWriter: it validates every
// field as Quay does, grants the robot write when it has less, stores the
// configuration (status NEVER_RUN, 3 retries, next start at the start
// date or now) and sets the repository state to MIRROR, all or nothing.
func (r *Registry) CreateMirror(ctx context.Context, namespace, name string, cfg quaymirror.MirrorConfig) error {
	o, rp, end, err := r.beginRepo(ctx, OpCreateMirror, namespace, name, r.mirroringLocked)
	if err != nil {
		return err
	}
	defer end()
	if r.orgMirroredLocked(o) {
		return refuse(quaymirror.ErrOrgMirrored, "Repository mirror configuration cannot be managed when organization-level mirroring is configured")
	}
	if rp.mirror != nil {
		return refuse(quaymirror.ErrAlreadyExists, "Mirror configuration already exits for repository %s/%s", namespace, name)
	}
	for _, f := range allFields {
		if err := r.checkFieldLocked(o, cfg, f); err != nil {
			return err
		}
	}
	if cfg.SyncStartDate.IsZero() {
		cfg.SyncStartDate = r.now()
	}
	if r.caps.SkopeoTimeout && cfg.SkopeoTimeout == 0 {
		// Quay 3.15+ requires a timeout; a client leaving it to the
		// server sends Quay's default.
		cfg.SkopeoTimeout = DefaultSkopeoTimeout
	}
	m := &quaymirror.Mirror{Status: quaymirror.MirrorStatus{SyncStatus: quaymirror.SyncNeverRun, RetriesRemaining: maxSyncRetries}}
	for _, f := range allFields {
		applyField(rp, m, cfg, f)
	}
	rp.mirror = m
	rp.r.State = quaymirror.StateMirror
	return nil
}

var allFields = quaymirror.MirrorFields()

// architectures are those Quay's validate_architecture_filter accepts.
var architectures = []string{"amd64", "arm64", "ppc64le", "s390x"}

// UpdateMirror implements quaymirror.MirrorWriter: every listed field is
// validated before any is applied, so a refusal changes nothing. Only the
// listed fields change; FieldPassword sets username and password together,
// FieldUsername alone only the username; FieldSyncStartDate moves the next
// start too; FieldRobot grants the new robot write.
func (r *Registry) UpdateMirror(ctx context.Context, namespace, name string, cfg quaymirror.MirrorConfig, fields []quaymirror.Field) error {
	return r.updateMirror(ctx, namespace, name, cfg, fields, false)
}

// UpdateMirrorInOrder applies the listed fields one after the other, in
// the order given, as Quay's mirror PUT did before its 2026 hardening: a
// refused field stops the update and the fields before it stay applied.
// The returned *Error names the refused field. It counts as one
// UpdateMirror.
func (r *Registry) UpdateMirrorInOrder(ctx context.Context, namespace, name string, cfg quaymirror.MirrorConfig, fields []quaymirror.Field) error {
	return r.updateMirror(ctx, namespace, name, cfg, fields, true)
}

func (r *Registry) updateMirror(ctx context.Context, namespace, name string, cfg quaymirror.MirrorConfig, fields []quaymirror.Field, inOrder bool) error {
	o, rp, end, err := r.beginRepo(ctx, OpUpdateMirror, namespace, name, r.mirrorLocked)
	if err != nil {
		return err
	}
	defer end()
	if r.orgMirroredLocked(o) {
		return refuse(quaymirror.ErrOrgMirrored, "Repository mirror configuration cannot be managed when organization-level mirroring is configured")
	}
	if !inOrder {
		for _, f := range fields {
			if err := r.checkFieldLocked(o, cfg, f); err != nil {
				return err
			}
		}
	}
	for _, f := range fields {
		if inOrder {
			if err := r.checkFieldLocked(o, cfg, f); err != nil {
				return err
			}
		}
		applyField(rp, rp.mirror, cfg, f)
	}
	return nil
}

// applyField copies field f of cfg into m, the mirror of rp.
func applyField(rp *repo, m *quaymirror.Mirror, cfg quaymirror.MirrorConfig, f quaymirror.Field) {
	c := &m.Config
	switch f {
	case quaymirror.FieldEnabled:
		c.Enabled = cfg.Enabled
	case quaymirror.FieldExternalReference:
		c.ExternalReference = cfg.ExternalReference
	case quaymirror.FieldUsername:
		c.Username, rp.brokenCredentials = cfg.Username, false
	case quaymirror.FieldPassword:
		c.Username, c.Password, rp.brokenCredentials = cfg.Username, cfg.Password, false
	case quaymirror.FieldSyncInterval:
		c.SyncInterval = cfg.SyncInterval
	case quaymirror.FieldSyncStartDate:
		c.SyncStartDate = cfg.SyncStartDate.UTC().Truncate(time.Second)
		m.Status.NextSync = c.SyncStartDate
	case quaymirror.FieldTagGlobs:
		c.TagGlobs = slices.Clone(cfg.TagGlobs)
	case quaymirror.FieldRobot:
		c.Robot = cfg.Robot
		grantRobot(rp, cfg.Robot)
	case quaymirror.FieldVerifyTLS:
		c.VerifyTLS = cfg.VerifyTLS
	case quaymirror.FieldUnsignedImages:
		c.UnsignedImages = cfg.UnsignedImages
	case quaymirror.FieldProxy:
		c.Proxy = cfg.Proxy
	case quaymirror.FieldSkopeoTimeout:
		c.SkopeoTimeout = cfg.SkopeoTimeout
	case quaymirror.FieldArchitectureFilter:
		c.ArchitectureFilter = slices.Clone(cfg.ArchitectureFilter)
	}
}

// checkFieldLocked validates field f of cfg as Quay does; the *Error names
// the field.
func (r *Registry) checkFieldLocked(o *org, cfg quaymirror.MirrorConfig, f quaymirror.Field) error {
	err := r.fieldProblemLocked(o, cfg, f)
	if err != nil {
		err.Field = f
		return err
	}
	return nil
}

func (r *Registry) fieldProblemLocked(o *org, cfg quaymirror.MirrorConfig, f quaymirror.Field) *Error {
	switch f {
	case quaymirror.FieldExternalReference:
		if r.sources.Enforce {
			return r.sources.check(cfg.ExternalReference, false)
		}
	case quaymirror.FieldSyncInterval:
		if cfg.SyncInterval < 0 {
			return refuse(quaymirror.ErrInvalid, "sync_interval must not be negative")
		}
	case quaymirror.FieldTagGlobs:
		if len(cfg.TagGlobs) == 0 {
			return refuse(quaymirror.ErrInvalid, "validation failed: rule_value for TAG_GLOB_CSV must be a list with at least one rule")
		}
	case quaymirror.FieldRobot:
		return r.robotProblemLocked(o, cfg.Robot)
	case quaymirror.FieldPassword:
		if cfg.Password != "" && cfg.Username == "" {
			return refuse(quaymirror.ErrInvalid, "Unable to set a new password without also specifying a username.")
		}
	case quaymirror.FieldSkopeoTimeout:
		if cfg.SkopeoTimeout != 0 && !r.caps.SkopeoTimeout {
			return refuse(quaymirror.ErrUnsupported, "skopeo_timeout_interval is not supported")
		}
		if cfg.SkopeoTimeout != 0 && cfg.SkopeoTimeout < quaymirror.MinSkopeoTimeout {
			return refuse(quaymirror.ErrInvalid, "Skopeo timeout interval cannot be less than 300 seconds.")
		}
	case quaymirror.FieldArchitectureFilter:
		if len(cfg.ArchitectureFilter) > 0 && !r.caps.ArchitectureFilter {
			return refuse(quaymirror.ErrUnsupported, "architecture_filter is not supported")
		}
		if len(cfg.ArchitectureFilter) > 0 && !r.caps.SparseIndex {
			return refuse(quaymirror.ErrUnsupported, "Architecture filtering requires FEATURE_SPARSE_INDEX to be enabled.")
		}
		var bad []string
		for _, a := range cfg.ArchitectureFilter {
			if !slices.Contains(architectures, a) && !slices.Contains(bad, a) {
				bad = append(bad, a)
			}
		}
		if len(bad) > 0 {
			slices.Sort(bad)
			return refuse(quaymirror.ErrInvalid, "Invalid architectures: %s", strings.Join(bad, ", "))
		}
	case quaymirror.FieldEnabled, quaymirror.FieldUsername, quaymirror.FieldSyncStartDate,
		quaymirror.FieldVerifyTLS, quaymirror.FieldUnsignedImages, quaymirror.FieldProxy:
	default:
		return refuse(quaymirror.ErrInvalid, "unknown mirror field %q", f)
	}
	return nil
}

// robotProblemLocked checks a mirror robot as Quay does: it must be an
// existing robot of the repository's own organisation.
func (r *Registry) robotProblemLocked(o *org, robot string) *Error {
	robotOrg, short, ok := strings.Cut(robot, "+")
	if _, exists := r.robotLocked(robotOrg, short); !ok || !exists {
		return refuse(quaymirror.ErrRobotNotFound, "Could not find robot with specified username")
	}
	if robotOrg != o.name {
		return refuse(quaymirror.ErrInvalid, "Invalid robot")
	}
	return nil
}

// grantRobot gives the robot write when it has no or read permission, as
// Quay does on mirror creation and robot update.
func grantRobot(rp *repo, robot string) {
	if role := rp.perms[robot]; role == "" || role == quaymirror.RoleRead {
		rp.perms[robot] = quaymirror.RoleWrite
	}
}

// PrepareMirrorRobot is the first half of a mirror write that names
// robot, as Quay's mirror endpoints carry it out before the rest: the
// robot is checked (an *Error for FieldRobot when it is unknown or of
// another organisation) and granted write when it has less. It counts as a
// SetPermission. CreateMirror and UpdateMirror do the same themselves; an
// emulator calls it to reproduce a server that fails after this step.
func (r *Registry) PrepareMirrorRobot(ctx context.Context, namespace, name, robot string) error {
	o, rp, end, err := r.beginRepo(ctx, OpSetPermission, namespace, name, r.repoLocked)
	if err != nil {
		return err
	}
	defer end()
	if e := r.robotProblemLocked(o, robot); e != nil {
		e.Field = quaymirror.FieldRobot
		return e
	}
	grantRobot(rp, robot)
	return nil
}

// SyncNow implements quaymirror.SyncController: status SYNC_NOW, no
// expiration, at least one retry. A SYNCING mirror yields ErrNotFound, as
// Quay answers.
func (r *Registry) SyncNow(ctx context.Context, namespace, name string) error {
	return r.syncControl(ctx, OpSyncNow, namespace, name, func(s *quaymirror.MirrorStatus) bool {
		if s.SyncStatus == quaymirror.SyncSyncing {
			return false
		}
		s.SyncStatus, s.Expiration = quaymirror.SyncNow, time.Time{}
		s.RetriesRemaining = max(s.RetriesRemaining, 1)
		return true
	})
}

// CancelSync implements quaymirror.SyncController: status CANCEL, no
// retries, no expiration; the next start is kept, as Quay's API does (its
// worker clears it when it releases a cancelled SYNCING mirror).
func (r *Registry) CancelSync(ctx context.Context, namespace, name string) error {
	return r.syncControl(ctx, OpCancelSync, namespace, name, func(s *quaymirror.MirrorStatus) bool {
		if s.SyncStatus != quaymirror.SyncSyncing && s.SyncStatus != quaymirror.SyncNow {
			return false
		}
		s.SyncStatus, s.Expiration, s.RetriesRemaining = quaymirror.SyncCancel, time.Time{}, 0
		return true
	})
}

func (r *Registry) syncControl(ctx context.Context, op Op, namespace, name string, update func(*quaymirror.MirrorStatus) bool) error {
	_, rp, end, err := r.beginRepo(ctx, op, namespace, name, r.mirrorLocked)
	if err != nil {
		return err
	}
	defer end()
	if !update(&rp.mirror.Status) {
		return notFound("mirror of %s/%s is %s", namespace, name, rp.mirror.Status.SyncStatus)
	}
	return nil
}

// SyncLogs implements quaymirror.SyncLogReader: the mirror events, newest
// first.
func (r *Registry) SyncLogs(ctx context.Context, namespace, name string) ([]quaymirror.SyncLog, error) {
	_, rp, end, err := r.beginRepo(ctx, OpSyncLogs, namespace, name, r.repoLocked)
	if err != nil {
		return nil, err
	}
	defer end()
	return slices.Clone(rp.logs), nil
}

// Seeding and inspection.

// PutMirror stores m as the repository's mirror as is, without validation
// and without touching the repository state: it seeds any situation,
// inconsistent ones included.
func (r *Registry) PutMirror(namespace, name string, m quaymirror.Mirror) error {
	c := cloneMirror(m)
	return r.withRepo(namespace, name, func(rp *repo) { rp.mirror = &c })
}

// SetMirrorStatus replaces the status of an existing mirror.
func (r *Registry) SetMirrorStatus(namespace, name string, s quaymirror.MirrorStatus) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, rp, err := r.repoLocked(namespace, name)
	if err != nil {
		return err
	}
	if rp.mirror == nil {
		return notFound("fake: %s/%s has no mirror", namespace, name)
	}
	rp.mirror.Status = s
	return nil
}

// Mirror returns a repository's mirror, password included.
func (r *Registry) Mirror(namespace, name string) (quaymirror.Mirror, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, rp, err := r.repoLocked(namespace, name)
	if err != nil || rp.mirror == nil {
		return quaymirror.Mirror{}, false
	}
	return cloneMirror(*rp.mirror), true
}

// AddSyncLog records a mirror event, newest first.
func (r *Registry) AddSyncLog(namespace, name string, l quaymirror.SyncLog) error {
	return r.withRepo(namespace, name, func(rp *repo) {
		rp.logs = append([]quaymirror.SyncLog{l}, rp.logs...)
		sortLogs(rp.logs)
	})
}

// Logs returns a repository's mirror events, newest first.
func (r *Registry) Logs(namespace, name string) []quaymirror.SyncLog {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, rp, err := r.repoLocked(namespace, name)
	if err != nil {
		return nil
	}
	return slices.Clone(rp.logs)
}

// sortLogs orders events newest first, keeping the order of equal times.
func sortLogs(logs []quaymirror.SyncLog) {
	slices.SortStableFunc(logs, func(a, b quaymirror.SyncLog) int { return b.Time.Compare(a.Time) })
}

func cloneMirror(m quaymirror.Mirror) quaymirror.Mirror {
	m.Config.TagGlobs = slices.Clone(m.Config.TagGlobs)
	m.Config.ArchitectureFilter = slices.Clone(m.Config.ArchitectureFilter)
	return m
}
