package fake

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// Seed is registry content for Load, in a JSON form meant to be written by
// hand (ReadSeed reads it): organisations with their robots and
// repositories, repositories with their tags, permissions, mirror and
// mirror events, users with their roles, and tokens. Mirror fields carry
// Quay's API names. The Quay emulator (registry/quay/quaytest) serves it.
//
//	{
//	  "users": [{"name": "admin", "organizations": {"*": "admin"}}],
//	  "tokens": [{"token": "s3cret", "user": "admin",
//	              "scopes": ["repo:admin", "repo:create", "org:admin", "user:read"]}],
//	  "organizations": [{
//	    "name": "acme",
//	    "robots": [{"name": "mirror"}],
//	    "repositories": [
//	      {"name": "app", "visibility": "public", "tags": ["v1", "latest"]},
//	      {"name": "team/tool", "state": "MIRROR", "mirror": {
//	        "external_reference": "quay.example.com/acme/team/tool",
//	        "sync_interval": 3600, "sync_start_date": "2026-01-01T00:00:00Z",
//	        "root_rule": {"rule_kind": "tag_glob_csv", "rule_value": ["*"]},
//	        "robot_username": "acme+mirror", "sync_status": "SUCCESS"}}
//	    ]
//	  }]
//	}
type Seed struct {
	Organizations []SeedOrganization `json:"organizations,omitempty"`
	Users         []SeedUser         `json:"users,omitempty"`
	Tokens        []Token            `json:"tokens,omitempty"`
}

// SeedUser is a user of a Seed.
type SeedUser struct {
	Name      string `json:"name"`
	Superuser bool   `json:"superuser,omitempty"`
	// Organizations maps organisation names, or "*" for every
	// organisation, to the user's role there.
	Organizations map[string]OrgRole `json:"organizations,omitempty"`
}

// ReadSeed decodes a seed strictly (unknown keys are errors) and
// validates it, reporting every problem at once.
func ReadSeed(r io.Reader) (*Seed, error) {
	d := json.NewDecoder(r)
	d.DisallowUnknownFields()
	var s Seed
	if err := d.Decode(&s); err != nil {
		return nil, fmt.Errorf("fake: seed: %w", err)
	}
	if d.More() {
		return nil, errors.New("fake: seed: data after the JSON document")
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("fake: invalid seed: %w", err)
	}
	return &s, nil
}

// SeedOrganization is an organisation of a Seed.
type SeedOrganization struct {
	Name         string           `json:"name"`
	Robots       []SeedRobot      `json:"robots,omitempty"`
	Repositories []SeedRepository `json:"repositories,omitempty"`
	// OrgMirrored marks the organisation as managed by native
	// organisation-level mirroring (see SetOrganizationMirrored).
	OrgMirrored bool `json:"org_mirrored,omitempty"`
}

// SeedRobot is a robot account; Name is the short name, without "org+".
type SeedRobot struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// SeedRepository is a repository of a SeedOrganization.
type SeedRepository struct {
	// Name may contain "/".
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Visibility defaults to private.
	Visibility quaymirror.Visibility `json:"visibility,omitempty"`
	// State defaults to MIRROR for a repository with a mirror, else
	// NORMAL.
	State quaymirror.State `json:"state,omitempty"`
	// Tags are tags given by name: each points at TagDigest of its name
	// and changed when the seed was loaded.
	Tags []string `json:"tags,omitempty"`
	// TagDetails are tags with their digest ("digest") and change time
	// ("last_modified", RFC 3339); either may be left out (then as for
	// Tags).
	TagDetails []quaymirror.Tag `json:"tag_details,omitempty"`
	// Permissions maps users and robots ("org+short") to roles.
	Permissions map[string]quaymirror.Role `json:"permissions,omitempty"`
	Mirror      *SeedMirror                `json:"mirror,omitempty"`
	// Logs are mirror events, in any order.
	Logs []quaymirror.SyncLog `json:"logs,omitempty"`
}

// SeedMirror is a mirror configuration and its status, with the field
// names of Quay's /mirror endpoint. Omitted fields take Quay's defaults:
// enabled, verify_tls true, status NEVER_RUN, 3 retries.
type SeedMirror struct {
	IsEnabled                *bool  `json:"is_enabled,omitempty"`
	ExternalReference        string `json:"external_reference"`
	ExternalRegistryUsername string `json:"external_registry_username,omitempty"`
	ExternalRegistryPassword string `json:"external_registry_password,omitempty"`
	// SyncInterval is in seconds.
	SyncInterval int64 `json:"sync_interval"`
	// SyncStartDate (RFC 3339) is both the configured start and the next
	// scheduled start.
	SyncStartDate          time.Time          `json:"sync_start_date,omitzero"`
	RootRule               SeedRule           `json:"root_rule"`
	RobotUsername          string             `json:"robot_username,omitempty"`
	ExternalRegistryConfig SeedRegistryConfig `json:"external_registry_config,omitzero"`
	// SkopeoTimeoutInterval is in seconds.
	SkopeoTimeoutInterval int64                 `json:"skopeo_timeout_interval,omitempty"`
	ArchitectureFilter    []string              `json:"architecture_filter,omitempty"`
	SyncStatus            quaymirror.SyncStatus `json:"sync_status,omitempty"`
	SyncRetriesRemaining  *int                  `json:"sync_retries_remaining,omitempty"`
	SyncExpirationDate    time.Time             `json:"sync_expiration_date,omitzero"`
}

// SeedRule is Quay's root_rule; only rule_value matters.
type SeedRule struct {
	RuleKind  string   `json:"rule_kind,omitempty"`
	RuleValue []string `json:"rule_value"`
}

// SeedRegistryConfig is Quay's external_registry_config.
type SeedRegistryConfig struct {
	VerifyTLS      *bool      `json:"verify_tls,omitempty"`
	UnsignedImages bool       `json:"unsigned_images,omitempty"`
	Proxy          *SeedProxy `json:"proxy,omitempty"`
}

// SeedProxy is Quay's external_registry_config.proxy.
type SeedProxy struct {
	HTTPProxy  string `json:"http_proxy,omitempty"`
	HTTPSProxy string `json:"https_proxy,omitempty"`
	NoProxy    string `json:"no_proxy,omitempty"`
}

// mirror returns the mirror the seed describes.
func (m SeedMirror) mirror() quaymirror.Mirror {
	enabled := m.IsEnabled == nil || *m.IsEnabled
	verify := m.ExternalRegistryConfig.VerifyTLS == nil || *m.ExternalRegistryConfig.VerifyTLS
	var proxy quaymirror.Proxy
	if p := m.ExternalRegistryConfig.Proxy; p != nil {
		proxy = quaymirror.Proxy{HTTPProxy: p.HTTPProxy, HTTPSProxy: p.HTTPSProxy, NoProxy: p.NoProxy}
	}
	status := m.SyncStatus
	if status == "" {
		status = quaymirror.SyncNeverRun
	}
	retries := 3
	if m.SyncRetriesRemaining != nil {
		retries = *m.SyncRetriesRemaining
	}
	start := m.SyncStartDate.UTC()
	return quaymirror.Mirror{
		Config: quaymirror.MirrorConfig{
			Enabled:            enabled,
			ExternalReference:  m.ExternalReference,
			Username:           m.ExternalRegistryUsername,
			Password:           quaymirror.Secret(m.ExternalRegistryPassword),
			SyncInterval:       time.Duration(m.SyncInterval) * time.Second,
			SyncStartDate:      start,
			TagGlobs:           m.RootRule.RuleValue,
			Robot:              m.RobotUsername,
			VerifyTLS:          verify,
			UnsignedImages:     m.ExternalRegistryConfig.UnsignedImages,
			Proxy:              proxy,
			SkopeoTimeout:      time.Duration(m.SkopeoTimeoutInterval) * time.Second,
			ArchitectureFilter: m.ArchitectureFilter,
		},
		Status: quaymirror.MirrorStatus{
			SyncStatus:       status,
			NextSync:         start,
			Expiration:       m.SyncExpirationDate.UTC(),
			RetriesRemaining: retries,
		},
	}
}

// Validate reports every problem of the seed at once: invalid names,
// duplicates, unknown states, visibilities, roles, sync statuses and
// scopes, tokens of unknown users.
func (s Seed) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	users := map[string]bool{}
	for i, u := range s.Users {
		if !quaymirror.ValidNamespace(u.Name) {
			bad("users[%d]: invalid user name %q", i, u.Name)
		}
		if users[u.Name] {
			bad("users[%d]: user %q listed twice", i, u.Name)
		}
		users[u.Name] = true
		for org, role := range u.Organizations {
			if role.Rank() == 0 {
				bad("users[%d]: role %q in %q is not member, creator or admin", i, role, org)
			}
			if org != AllOrganizations && !quaymirror.ValidNamespace(org) {
				bad("users[%d]: invalid organization name %q", i, org)
			}
		}
	}
	tokens := map[string]bool{}
	for i, t := range s.Tokens {
		if t.Token == "" {
			bad("tokens[%d]: empty token", i)
		}
		if tokens[t.Token] {
			bad("tokens[%d]: token listed twice", i)
		}
		tokens[t.Token] = true
		if !users[t.User] {
			bad("tokens[%d]: unknown user %q", i, t.User)
		}
		for _, sc := range t.Scopes {
			if !slices.Contains(AllScopes(), sc) {
				bad("tokens[%d]: unknown scope %q", i, sc)
			}
		}
	}
	orgs := map[string]bool{}
	for i, o := range s.Organizations {
		where := fmt.Sprintf("organizations[%d]", i)
		if !quaymirror.ValidNamespace(o.Name) {
			bad("%s: invalid organization name %q", where, o.Name)
		}
		if orgs[o.Name] {
			bad("%s: organization %q listed twice", where, o.Name)
		}
		orgs[o.Name] = true
		robots := map[string]bool{}
		for j, rb := range o.Robots {
			if !quaymirror.ValidRobotShortName(rb.Name) {
				bad("%s.robots[%d]: invalid robot short name %q", where, j, rb.Name)
			}
			if robots[rb.Name] {
				bad("%s.robots[%d]: robot %q listed twice", where, j, rb.Name)
			}
			robots[rb.Name] = true
		}
		repos := map[string]bool{}
		for j, rp := range o.Repositories {
			rw := fmt.Sprintf("%s.repositories[%d]", where, j)
			if !quaymirror.ValidRepositoryName(rp.Name) {
				bad("%s: invalid repository name %q", rw, rp.Name)
			}
			if repos[rp.Name] {
				bad("%s: repository %q listed twice", rw, rp.Name)
			}
			repos[rp.Name] = true
			tags := map[string]bool{}
			for k, tag := range rp.Tags {
				if !quaymirror.ValidTagName(tag) {
					bad("%s.tags[%d]: invalid tag name %q", rw, k, tag)
				}
				if tags[tag] {
					bad("%s.tags[%d]: tag %q listed twice", rw, k, tag)
				}
				tags[tag] = true
			}
			for k, tag := range rp.TagDetails {
				if _, err := checkTag(tag, time.Time{}); err != nil {
					bad("%s.tag_details[%d]: %v", rw, k, strings.TrimPrefix(err.Error(), "fake: "))
				}
				if tags[tag.Name] {
					bad("%s.tag_details[%d]: tag %q listed twice", rw, k, tag.Name)
				}
				tags[tag.Name] = true
			}
			if rp.State != "" && !rp.State.Valid() {
				bad("%s: unknown state %q", rw, rp.State)
			}
			if v := rp.Visibility; v != "" && v != quaymirror.Public && v != quaymirror.Private {
				bad("%s: visibility %q is not public or private", rw, v)
			}
			for user, role := range rp.Permissions {
				switch role {
				case quaymirror.RoleRead, quaymirror.RoleWrite, quaymirror.RoleAdmin:
				default:
					bad("%s: permission of %q: role %q is not read, write or admin", rw, user, role)
				}
			}
			if m := rp.Mirror; m != nil {
				switch m.SyncStatus {
				case "", quaymirror.SyncNeverRun, quaymirror.SyncNow, quaymirror.SyncSyncing,
					quaymirror.SyncSuccess, quaymirror.SyncFail, quaymirror.SyncCancel:
				default:
					bad("%s.mirror: unknown sync_status %q", rw, m.SyncStatus)
				}
				if m.SyncInterval < 0 {
					bad("%s.mirror: negative sync_interval", rw)
				}
			}
		}
	}
	return errors.Join(errs...)
}

// Load adds the seed's content to the registry: organisations (existing
// ones are kept and completed), robots, repositories with their tags,
// permissions, mirror events and mirrors, stored as given without Quay's
// validation (like PutMirror), then users, their roles and tokens. The
// seed is validated first; nothing is loaded if it is invalid. A
// repository that exists already is an error.
func (r *Registry) Load(s Seed) error {
	if err := s.Validate(); err != nil {
		return fmt.Errorf("fake: invalid seed: %w", err)
	}
	if err := r.loadContent(s); err != nil {
		return err
	}
	for _, u := range s.Users {
		if err := r.AddUser(u.Name, u.Superuser); err != nil {
			return err
		}
		for org, role := range u.Organizations {
			if err := r.SetOrgRole(org, u.Name, role); err != nil {
				return err
			}
		}
	}
	for _, t := range s.Tokens {
		if err := r.AddToken(t); err != nil {
			return err
		}
	}
	return nil
}

func (r *Registry) loadContent(s Seed) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, so := range s.Organizations {
		if o := r.orgs[so.Name]; o != nil {
			for _, sr := range so.Repositories {
				if o.repos[sr.Name] != nil {
					return fmt.Errorf("fake: repository %s/%s exists", so.Name, sr.Name)
				}
			}
		}
	}
	for _, so := range s.Organizations {
		o := r.orgLocked(so.Name)
		o.orgMirrored = o.orgMirrored || so.OrgMirrored
		for _, rb := range so.Robots {
			o.robots[rb.Name] = quaymirror.Robot{Name: so.Name + "+" + rb.Name, Description: rb.Description}
		}
		for _, sr := range so.Repositories {
			repo := quaymirror.Repository{
				Namespace: so.Name, Name: sr.Name, Description: sr.Description,
				Visibility: sr.Visibility, State: sr.State, Tags: sr.Tags,
			}
			if repo.Visibility == "" {
				repo.Visibility = quaymirror.Private
			}
			if repo.State == "" {
				repo.State = quaymirror.StateNormal
				if sr.Mirror != nil {
					repo.State = quaymirror.StateMirror
				}
			}
			rp := r.addLocked(o, repo)
			now := r.now()
			for _, t := range sr.TagDetails {
				t, _ = checkTag(t, now) // validated above
				rp.tags[t.Name] = t
			}
			for user, role := range sr.Permissions {
				rp.perms[user] = role
			}
			if sr.Mirror != nil {
				m := cloneMirror(sr.Mirror.mirror())
				rp.mirror = &m
			}
			rp.logs = append(rp.logs, sr.Logs...)
			sortLogs(rp.logs)
		}
	}
	return nil
}
