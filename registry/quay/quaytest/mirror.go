package quaytest

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// mirrorExtras is what a Quay mirror row holds that quaymirror.Mirror
// cannot: which keys its external_registry_config object has. It decides
// what GET shows and feeds the proxy bug (the first proxy key of an update
// is dropped while the stored object has no "proxy" key). Mirrors seeded
// straight into the registry have none: every key they carry is shown.
type mirrorExtras struct {
	verifyTLS, unsigned, proxy bool
	proxyKeys                  [3]bool // http_proxy, https_proxy, no_proxy
}

var proxyKeyNames = [3]string{"http_proxy", "https_proxy", "no_proxy"}

func repoKey(ns, name string) string { return ns + "/" + name }

func (e *Emulator) extrasOf(ns, name string) *mirrorExtras {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x := e.extras[repoKey(ns, name)]; x != nil {
		c := *x
		return &c
	}
	return nil
}

func (e *Emulator) setExtras(ns, name string, x mirrorExtras) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.extras[repoKey(ns, name)] = &x
}

// extrasFor returns the stored extras, or those a seeded mirror implies.
// Values set in the registry since (PutMirror) show through: a proxy value
// implies a proxy object, a false verify_tls a verify_tls key.
func extrasFor(x *mirrorExtras, cfg quaymirror.MirrorConfig) mirrorExtras {
	if x == nil {
		p := !cfg.Proxy.IsZero()
		return mirrorExtras{verifyTLS: true, unsigned: true, proxy: p, proxyKeys: [3]bool{p, p, p}}
	}
	m := *x
	m.verifyTLS = m.verifyTLS || !cfg.VerifyTLS
	m.unsigned = m.unsigned || cfg.UnsignedImages
	for i, v := range [3]string{cfg.Proxy.HTTPProxy, cfg.Proxy.HTTPSProxy, cfg.Proxy.NoProxy} {
		if v != "" {
			m.proxy, m.proxyKeys[i] = true, true
		}
	}
	return m
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func seconds(d time.Duration) int64 { return int64(d / time.Second) }

func (c *call) mirrorView(m quaymirror.Mirror) obj {
	globs := m.Config.TagGlobs
	if globs == nil {
		globs = []string{}
	}
	o := obj{
		{"is_enabled", m.Config.Enabled},
		{"mirror_type", "PULL"},
		{"external_reference", m.Config.ExternalReference},
		{"external_registry_username", nullable(m.Config.Username)},
		{"external_registry_config", c.registryConfigView(m.Config, c.e.extrasOf(c.ns, c.name))},
		{"sync_interval", seconds(m.Config.SyncInterval)},
		{"sync_start_date", isoformatZ(m.Status.NextSync)},
		{"sync_expiration_date", isoformatZ(m.Status.Expiration)},
		{"sync_retries_remaining", m.Status.RetriesRemaining},
		{"sync_status", m.Status.SyncStatus},
		{"root_rule", obj{{"rule_kind", "tag_glob_csv"}, {"rule_value", globs}}},
		{"robot_username", nullable(m.Config.Robot)},
	}
	if c.e.version.skopeoTimeout() {
		o = append(o, kv{"skopeo_timeout_interval", seconds(m.Config.SkopeoTimeout)})
	}
	if c.e.version.architectureFilter() {
		arch := m.Config.ArchitectureFilter
		if arch == nil {
			arch = []string{}
		}
		o = append(o, kv{"architecture_filter", arch})
	}
	return o
}

func (c *call) registryConfigView(cfg quaymirror.MirrorConfig, stored *mirrorExtras) obj {
	x := extrasFor(stored, cfg)
	var o obj
	if x.verifyTLS {
		o = append(o, kv{"verify_tls", cfg.VerifyTLS})
	}
	if x.unsigned && (stored != nil || c.e.version.unsignedImages() || cfg.UnsignedImages) {
		o = append(o, kv{"unsigned_images", cfg.UnsignedImages})
	}
	if x.proxy {
		vals := [3]string{cfg.Proxy.HTTPProxy, cfg.Proxy.HTTPSProxy, cfg.Proxy.NoProxy}
		p := obj{}
		for i, k := range proxyKeyNames {
			if x.proxyKeys[i] {
				p = append(p, kv{k, nullable(vals[i])})
			}
		}
		o = append(o, kv{"proxy", p})
	}
	if o == nil {
		o = obj{}
	}
	return o
}

// requireMirrorRepo is the common start of the mirror endpoints: repo
// admin, the repository, and (for writes) the organisation-mirror lock.
func (c *call) requireMirrorRepo() (exists, ok bool) {
	_, exists, ok = c.requireRepo(rankAdmin)
	return exists, ok
}

// GET /api/v1/repository/{repo}/mirror
func (c *call) getMirror() {
	exists, ok := c.requireMirrorRepo()
	if !ok {
		return
	}
	m, has := c.e.reg.Mirror(c.ns, c.name)
	if !exists || !has {
		c.notFound()
		return
	}
	c.e.mu.Lock()
	broken := c.e.undecryptable[repoKey(c.ns, c.name)]
	c.e.mu.Unlock()
	if broken && m.Config.Username != "" {
		if !c.e.version.decryptFailureShown() {
			// logger.warning(...) in the except block: NameError.
			c.html(http.StatusInternalServerError)
			return
		}
		m.Config.Username = "(invalid. please re-enter)"
	}
	c.json(http.StatusOK, c.mirrorView(m))
}

// orgMirrorLocked answers the 3.17+ organisation-mirror lock of mirror
// writes (an InvalidRequest). _reject_if_org_mirror_configured looks for
// the organisation's mirror configuration without looking at
// FEATURE_ORG_MIRROR: the lock holds after the feature is turned off
// (repository creation and changestate do check the flag).
func (c *call) orgMirrorLocked() bool {
	if c.e.version.orgMirroring() && c.e.reg.HasOrganizationMirror(c.ns) {
		c.invalid("Repository mirror configuration cannot be managed when organization-level mirroring is configured")
		return true
	}
	return false
}

// robotProblem validates a mirror robot as _setup_robot_for_mirroring
// does and returns the DataModelException message, or "".
func (c *call) robotProblem(robot string) string {
	org, short, ok := strings.Cut(robot, "+")
	if !ok {
		return "Could not find robot with specified username"
	}
	if _, exists := c.e.reg.Robot(org, short); !exists {
		return "Could not find robot with specified username"
	}
	if org != c.ns {
		return "Invalid robot"
	}
	return ""
}

// grantRobot gives the robot write unless it has write or admin.
func (c *call) grantRobot(robot string) {
	if role := c.e.reg.Permission(c.ns, c.name, robot); role == "" || role == quaymirror.RoleRead {
		_ = c.e.reg.GrantPermission(c.ns, c.name, robot, quaymirror.RoleWrite)
	}
}

const (
	msgRuleValue   = "validation failed: rule_value for TAG_GLOB_CSV must be a list with at least one rule"
	msgBadDate     = "Incorrect DateTime format for sync_start_date."
	msgSparseIndex = "Architecture filtering requires FEATURE_SPARSE_INDEX to be enabled."
)

var validArchitectures = []string{"amd64", "arm64", "ppc64le", "s390x"}

// archProblem is validate_architecture_filter plus the sparse index check.
func (c *call) archProblem(v any) string {
	arch := strings_(v)
	if len(arch) == 0 {
		return ""
	}
	if !c.e.features.SparseIndex {
		return msgSparseIndex
	}
	var bad []string
	for _, a := range arch {
		if !slices.Contains(validArchitectures, a) && !slices.Contains(bad, a) {
			bad = append(bad, a)
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return "Invalid architectures: " + strings.Join(bad, ", ")
	}
	return ""
}

// strings_ returns a decoded JSON array of strings (nil for null).
func strings_(v any) []string {
	arr, _ := v.([]any)
	if arr == nil {
		return nil
	}
	out := make([]string, 0, len(arr))
	for _, x := range arr {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func integerField(data map[string]any, key string) int64 {
	n, _ := integer(data[key])
	return n
}

// POST /api/v1/repository/{repo}/mirror
func (c *call) createMirror() {
	_, ok := c.requireMirrorRepo()
	if !ok {
		return
	}
	data, ok := c.body(c.e.defs["CreateMirrorConfig"], false)
	if !ok {
		return
	}
	c.e.wmu.Lock()
	defer c.e.wmu.Unlock()
	v := c.e.version
	if _, exists := c.e.reg.Repository(c.ns, c.name); !exists {
		c.notFound()
		return
	}
	if c.orgMirrorLocked() {
		return
	}
	if _, has := c.e.reg.Mirror(c.ns, c.name); has {
		c.detail(http.StatusConflict, fmt.Sprintf("Mirror configuration already exits for repository %s/%s", c.ns, c.name))
		return
	}
	ref := data["external_reference"].(string)
	archValue, hasArch := data["architecture_filter"]
	if v.hardened() && !v.referenceCheckedInModel() {
		// Everything is validated before anything is written.
		if msg := c.e.apiReferenceProblem(ref); msg != "" {
			c.invalid(msg)
			return
		}
		if hasArch && v.architectureFilter() {
			if msg := c.archProblem(archValue); msg != "" {
				c.detail(http.StatusBadRequest, msg)
				return
			}
		}
	}
	start, ok := parseQuayDate(data["sync_start_date"].(string))
	if !ok {
		if v.hardened() {
			c.detail(http.StatusBadRequest, msgBadDate)
		} else {
			c.html(http.StatusInternalServerError) // uncaught ValueError
		}
		return
	}
	rule := strings_(data["root_rule"].(map[string]any)["rule_value"])
	if len(rule) == 0 {
		c.invalid(msgRuleValue)
		return
	}
	// create_rule has stored the rule row: a failure from here on leaves
	// it behind, an orphan that a later PUT of root_rule may change
	// instead of the mirror's own row.
	created := false
	defer func() {
		if !created {
			c.e.addOrphanRule(c.ns, c.name, rule)
		}
	}()
	robot, hasRobot := data["robot_username"].(string)
	if !hasRobot {
		c.html(http.StatusInternalServerError) // data["robot_username"]: KeyError
		return
	}
	if msg := c.robotProblem(robot); msg != "" {
		c.message(http.StatusBadRequest, msg)
		return
	}
	c.grantRobot(robot)
	// enable_mirroring_for_repository(**data) takes only its keyword
	// arguments: any other key left in the body is a TypeError.
	for k := range data {
		switch k {
		case "root_rule", "robot_username", "external_reference", "sync_interval", "sync_start_date",
			"external_registry_username", "external_registry_password", "external_registry_config", "is_enabled":
		case "skopeo_timeout_interval":
			if !v.skopeoTimeout() && !v.skopeoDroppedOnPost() {
				c.html(http.StatusInternalServerError)
				return
			}
		case "architecture_filter":
			if !v.architectureFilter() && !v.architectureDroppedOnPost() {
				c.html(http.StatusInternalServerError)
				return
			}
		default:
			c.html(http.StatusInternalServerError)
			return
		}
	}
	if v.referenceCheckedInModel() {
		// enable_mirroring_for_repository checks the reference itself,
		// without DNS, after the rule and the robot grant: its
		// DataModelException is a 400 {"message"} with the detail.
		if msg, _ := c.e.referenceProblem(ref, false); msg != "" {
			c.message(http.StatusBadRequest, msg)
			return
		}
	}

	cfg := quaymirror.MirrorConfig{
		Enabled:           true,
		ExternalReference: ref,
		SyncInterval:      time.Duration(integerField(data, "sync_interval")) * time.Second,
		SyncStartDate:     start,
		TagGlobs:          rule,
		Robot:             robot,
		VerifyTLS:         true,
	}
	if b, ok := data["is_enabled"].(bool); ok {
		cfg.Enabled = b
	}
	cfg.Username, _ = data["external_registry_username"].(string)
	if p, _ := data["external_registry_password"].(string); p != "" {
		cfg.Password = quaymirror.Secret(p)
	}
	if v.skopeoTimeout() {
		cfg.SkopeoTimeout = time.Duration(integerField(data, "skopeo_timeout_interval")) * time.Second
	}
	var x mirrorExtras
	if rc, ok := data["external_registry_config"].(map[string]any); ok {
		// Stored as sent.
		if b, ok := rc["verify_tls"].(bool); ok {
			cfg.VerifyTLS, x.verifyTLS = b, true
		}
		if b, ok := rc["unsigned_images"].(bool); ok {
			cfg.UnsignedImages, x.unsigned = b, true
		}
		if p, ok := rc["proxy"].(map[string]any); ok {
			x.proxy = true
			for i, k := range proxyKeyNames {
				val, present := p[k]
				if !present {
					continue
				}
				x.proxyKeys[i] = true
				s, _ := val.(string)
				setProxy(&cfg.Proxy, i, s)
			}
		}
	}
	status := quaymirror.MirrorStatus{SyncStatus: quaymirror.SyncNeverRun, NextSync: start, RetriesRemaining: 3}
	var archErr string
	if hasArch && v.architectureFilter() && archValue != nil {
		if !v.hardened() {
			// Checked after the configuration is created.
			archErr = c.archProblem(archValue)
		}
		if archErr == "" {
			cfg.ArchitectureFilter = strings_(archValue)
		}
	}
	_ = c.e.reg.PutMirror(c.ns, c.name, quaymirror.Mirror{Config: cfg, Status: status})
	_ = c.e.reg.SetState(c.ns, c.name, quaymirror.StateMirror)
	created = true
	c.e.setExtras(c.ns, c.name, x)
	c.e.logChange(c.who, c.ns, c.name, "external_reference", ref)
	if archErr != "" {
		c.detail(http.StatusBadRequest, archErr)
		return
	}
	c.emptyString(http.StatusCreated)
}

// addOrphanRule records a rule row a failed POST left behind.
func (e *Emulator) addOrphanRule(ns, name string, globs []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	k := repoKey(ns, name)
	e.orphanRules[k] = append(e.orphanRules[k], slices.Clone(globs))
}

// changeOrphanRule gives the repository's first orphan rule row the value
// globs, as change_rule does when that row comes first, and reports
// whether there was one.
func (e *Emulator) changeOrphanRule(ns, name string, globs []string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	rows := e.orphanRules[repoKey(ns, name)]
	if len(rows) == 0 {
		return false
	}
	rows[0] = slices.Clone(globs)
	return true
}

func setProxy(p *quaymirror.Proxy, i int, s string) {
	switch i {
	case 0:
		p.HTTPProxy = s
	case 1:
		p.HTTPSProxy = s
	case 2:
		p.NoProxy = s
	}
}

// hardenedChecks is the order in which the hardened PUT handler validates.
var hardenedChecks = []string{
	"external_reference", "sync_start_date", "skopeo_timeout_interval", "architecture_filter",
	"external_registry_password", "external_registry_username", "root_rule", "robot_username",
}

// mirrorUpdate is one PUT being applied to a working copy.
type mirrorUpdate struct {
	c       *call
	data    map[string]any
	m       quaymirror.Mirror
	x       mirrorExtras
	changes [][2]any // (changed, to) for the audit log
}

// step is one block of Quay's PUT handler: a check that may refuse the
// request, then the change.
type step struct {
	key   string // the body key that triggers it ("" = always)
	check func(u *mirrorUpdate) (refuse func())
	apply func(u *mirrorUpdate)
}

// PUT /api/v1/repository/{repo}/mirror
func (c *call) updateMirror() {
	_, ok := c.requireMirrorRepo()
	if !ok {
		return
	}
	data, ok := c.body(c.e.defs["UpdateMirrorConfig"], false)
	if !ok {
		return
	}
	c.e.wmu.Lock()
	defer c.e.wmu.Unlock()
	if _, exists := c.e.reg.Repository(c.ns, c.name); !exists {
		c.notFound()
		return
	}
	if c.orgMirrorLocked() {
		return
	}
	m, has := c.e.reg.Mirror(c.ns, c.name)
	if !has {
		c.notFound()
		return
	}
	u := &mirrorUpdate{c: c, data: data, m: m, x: extrasFor(c.e.extrasOf(c.ns, c.name), m.Config)}
	steps := c.updateSteps()
	if c.e.version.hardened() {
		// Validate every requested change (in the hardened handler's
		// order), then apply them all.
		for _, key := range hardenedChecks {
			for _, s := range steps {
				if s.key != key || s.check == nil || !u.has(key) {
					continue
				}
				if refuse := s.check(u); refuse != nil {
					refuse()
					return
				}
			}
		}
		for _, s := range steps {
			if s.apply != nil && u.has(s.key) {
				s.apply(u)
			}
		}
		u.save()
		c.emptyString(http.StatusCreated)
		return
	}
	// Older releases apply each block in turn: a refusal keeps what the
	// blocks before it changed.
	for _, s := range steps {
		if !u.has(s.key) {
			continue
		}
		if s.check != nil {
			if refuse := s.check(u); refuse != nil {
				u.save()
				refuse()
				return
			}
		}
		if s.apply != nil {
			s.apply(u)
		}
	}
	u.save()
	c.emptyString(http.StatusCreated)
}

func (u *mirrorUpdate) has(key string) bool {
	if key == "" {
		return true
	}
	_, ok := u.data[key]
	return ok
}

func (u *mirrorUpdate) changed(what string, to any) { u.changes = append(u.changes, [2]any{what, to}) }

func (u *mirrorUpdate) save() {
	c := u.c
	_ = c.e.reg.PutMirror(c.ns, c.name, u.m)
	c.e.setExtras(c.ns, c.name, u.x)
	for _, ch := range u.changes {
		c.e.logChange(c.who, c.ns, c.name, ch[0].(string), ch[1])
	}
}

// updateSteps are the blocks of Quay's PUT handler, in its order.
func (c *call) updateSteps() []step {
	v := c.e.version
	steps := []step{
		{key: "is_enabled", apply: func(u *mirrorUpdate) {
			u.m.Config.Enabled = u.data["is_enabled"].(bool)
			u.changed("is_enabled", u.m.Config.Enabled)
		}},
		{key: "external_reference",
			check: func(u *mirrorUpdate) func() {
				ref := u.data["external_reference"].(string)
				if v.hardened() {
					if msg := c.e.apiReferenceProblem(ref); msg != "" {
						return func() { c.invalid(msg) }
					}
				} else if ref == "" {
					return func() { c.detail(http.StatusBadRequest, "Empty string is an invalid repository location.") }
				}
				return nil
			},
			apply: func(u *mirrorUpdate) {
				u.m.Config.ExternalReference = u.data["external_reference"].(string)
				u.changed("external_reference", u.m.Config.ExternalReference)
			}},
		{key: "robot_username",
			check: func(u *mirrorUpdate) func() {
				if msg := c.robotProblem(u.data["robot_username"].(string)); msg != "" {
					return func() { c.message(http.StatusBadRequest, msg) }
				}
				return nil
			},
			apply: func(u *mirrorUpdate) {
				robot := u.data["robot_username"].(string)
				c.grantRobot(robot)
				u.m.Config.Robot = robot
				u.changed("robot_username", robot)
			}},
		{key: "sync_start_date",
			check: func(u *mirrorUpdate) func() {
				if _, ok := parseQuayDate(u.data["sync_start_date"].(string)); !ok {
					return func() { c.detail(http.StatusBadRequest, msgBadDate) }
				}
				return nil
			},
			apply: func(u *mirrorUpdate) {
				t, _ := parseQuayDate(u.data["sync_start_date"].(string))
				u.m.Config.SyncStartDate, u.m.Status.NextSync = t, t
				u.changed("sync_start_date", isoformatZ(t))
			}},
		{key: "sync_interval", apply: func(u *mirrorUpdate) {
			u.m.Config.SyncInterval = time.Duration(integerField(u.data, "sync_interval")) * time.Second
			u.changed("sync_interval", seconds(u.m.Config.SyncInterval))
		}},
	}
	if v.skopeoTimeout() {
		steps = append(steps, step{key: "skopeo_timeout_interval", apply: func(u *mirrorUpdate) {
			u.m.Config.SkopeoTimeout = time.Duration(integerField(u.data, "skopeo_timeout_interval")) * time.Second
			u.changed("skopeo_timeout_interval", seconds(u.m.Config.SkopeoTimeout))
		}})
	}
	if v.architectureFilter() {
		steps = append(steps, step{key: "architecture_filter",
			check: func(u *mirrorUpdate) func() {
				if msg := c.archProblem(u.data["architecture_filter"]); msg != "" {
					return func() { c.detail(http.StatusBadRequest, msg) }
				}
				return nil
			},
			apply: func(u *mirrorUpdate) {
				u.m.Config.ArchitectureFilter = strings_(u.data["architecture_filter"])
				u.changed("architecture_filter", u.m.Config.ArchitectureFilter)
			}})
	}
	steps = append(steps,
		step{key: "external_registry_username",
			check: func(u *mirrorUpdate) func() {
				pw, both := u.data["external_registry_password"]
				if both && u.data["external_registry_username"] == nil && pw != nil {
					return func() { c.detail(http.StatusBadRequest, "Unable to delete username while setting a password.") }
				}
				return nil
			},
			apply: func(u *mirrorUpdate) {
				name, _ := u.data["external_registry_username"].(string)
				u.m.Config.Username = name
				// Encrypted with the current key: readable again.
				c.e.mu.Lock()
				delete(c.e.undecryptable, repoKey(c.ns, c.name))
				c.e.mu.Unlock()
				if pw, both := u.data["external_registry_password"]; both {
					s, _ := pw.(string)
					u.m.Config.Password = quaymirror.Secret(s)
				}
				u.changed("external_registry_username", nullable(name))
			}},
		step{key: "external_registry_password",
			check: func(u *mirrorUpdate) func() {
				if !u.has("external_registry_username") {
					return func() {
						c.detail(http.StatusBadRequest, "Unable to set a new password without also specifying a username.")
					}
				}
				return nil
			}},
		step{key: "external_registry_config", apply: func(u *mirrorUpdate) {
			rc := u.data["external_registry_config"].(map[string]any)
			if b, ok := rc["verify_tls"].(bool); ok {
				u.m.Config.VerifyTLS, u.x.verifyTLS = b, true
				u.changed("verify_tls", b)
			}
			if b, ok := rc["unsigned_images"].(bool); ok && v.unsignedImages() {
				u.m.Config.UnsignedImages, u.x.unsigned = b, true
				u.changed("unsigned_images", b)
			}
			p, ok := rc["proxy"].(map[string]any)
			if !ok {
				return
			}
			for i, k := range proxyKeyNames {
				val, present := p[k]
				if !present {
					continue
				}
				if !u.x.proxy {
					// change_external_registry_config creates the
					// missing "proxy" object and drops the value.
					u.x.proxy = true
					continue
				}
				s, _ := val.(string)
				setProxy(&u.m.Config.Proxy, i, s)
				u.x.proxyKeys[i] = true
				u.changed(k, val)
			}
		}},
		step{key: "root_rule",
			check: func(u *mirrorUpdate) func() {
				if len(strings_(u.data["root_rule"].(map[string]any)["rule_value"])) == 0 {
					return func() { c.invalid(msgRuleValue) }
				}
				return nil
			},
			apply: func(u *mirrorUpdate) {
				globs := strings_(u.data["root_rule"].(map[string]any)["rule_value"])
				// change_rule updates the repository's first rule row
				// (RepoMirrorRule.get, no ORDER BY), which is an
				// orphan when a failed POST left one: the mirror keeps
				// its own rule, and GET shows it unchanged.
				if !c.e.changeOrphanRule(c.ns, c.name, globs) {
					u.m.Config.TagGlobs = globs
				}
				u.changed("mirror_rule", globs)
			}},
	)
	return steps
}

// POST /api/v1/repository/{repo}/mirror/sync-now
func (c *call) syncNow() {
	c.syncControl(func(s *quaymirror.MirrorStatus) bool {
		if s.SyncStatus == quaymirror.SyncSyncing {
			return false
		}
		s.SyncStatus = quaymirror.SyncNow
		s.Expiration = time.Time{}
		s.RetriesRemaining = max(s.RetriesRemaining, 1)
		return true
	}, "SYNC_NOW")
}

// POST /api/v1/repository/{repo}/mirror/sync-cancel
func (c *call) syncCancel() {
	c.syncControl(func(s *quaymirror.MirrorStatus) bool {
		if s.SyncStatus != quaymirror.SyncSyncing && s.SyncStatus != quaymirror.SyncNow {
			return false
		}
		// Quay's update_sync_status_to_cancel keeps sync_start_date.
		s.SyncStatus = quaymirror.SyncCancel
		s.Expiration = time.Time{}
		s.RetriesRemaining = 0
		return true
	}, "SYNC_CANCEL")
}

func (c *call) syncControl(update func(*quaymirror.MirrorStatus) bool, logged string) {
	_, ok := c.requireMirrorRepo()
	if !ok {
		return
	}
	c.e.wmu.Lock()
	defer c.e.wmu.Unlock()
	if _, exists := c.e.reg.Repository(c.ns, c.name); !exists {
		c.notFound()
		return
	}
	m, has := c.e.reg.Mirror(c.ns, c.name)
	if !has || !update(&m.Status) {
		c.notFound()
		return
	}
	_ = c.e.reg.SetMirrorStatus(c.ns, c.name, m.Status)
	c.e.logChange(c.who, c.ns, c.name, "sync_status", logged)
	c.noContent()
}
