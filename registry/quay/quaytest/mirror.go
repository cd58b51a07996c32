package quaytest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/fake"
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

// GET /api/v1/repository/{repo}/mirror
func (c *call) getMirror() {
	if !c.requireMirrorRepo() {
		return
	}
	m, err := c.e.reg.GetMirror(c.ctx(), c.ns, c.name)
	var refused *fake.Error
	switch {
	case !errors.As(err, &refused) || !errors.Is(err, quaymirror.ErrUnavailable):
	case c.e.version.decryptFailureShown():
		// The credentials no longer decrypt: only 3.16.4 and 3.16.5
		// define the logger of the error path, and show a placeholder.
		stored, _ := c.e.reg.Mirror(c.ns, c.name)
		stored.Config.Username, stored.Config.Password = "(invalid. please re-enter)", ""
		m, err = &stored, nil
	default:
		c.html(http.StatusInternalServerError) // logger.warning(...) in the except block: NameError
		return
	}
	if err != nil {
		c.fail(err)
		return
	}
	c.json(http.StatusOK, c.mirrorView(*m))
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

const (
	msgRuleValue = "validation failed: rule_value for TAG_GLOB_CSV must be a list with at least one rule"
	msgBadDate   = "Incorrect DateTime format for sync_start_date."
)

// archProblem is validate_architecture_filter plus the sparse index
// check, as the registry makes them.
func (c *call) archProblem(v any) string {
	var refused *fake.Error
	err := c.e.reg.CheckMirrorField(c.ns, quaymirror.MirrorConfig{ArchitectureFilter: strings_(v)}, quaymirror.FieldArchitectureFilter)
	if errors.As(err, &refused) {
		return refused.Message
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

// beginMirrorWrite makes the first checks of a mirror POST or PUT, in
// Quay's order: the caller's right to the repository, the body against
// the version's schema def, then, under wmu, that the repository exists
// and that no organisation mirror locks it. When one fails it answers
// and returns ok false; otherwise unlock releases wmu.
func (c *call) beginMirrorWrite(def string) (data map[string]any, unlock func(), ok bool) {
	if !c.requireMirrorRepo() {
		return nil, nil, false
	}
	if data, ok = c.body(c.e.defs[def], false); !ok {
		return nil, nil, false
	}
	c.e.wmu.Lock()
	if _, exists := c.e.reg.Repository(c.ns, c.name); !exists {
		c.e.wmu.Unlock()
		c.notFound()
		return nil, nil, false
	}
	if c.orgMirrorLocked() {
		c.e.wmu.Unlock()
		return nil, nil, false
	}
	return data, c.e.wmu.Unlock, true
}

// POST /api/v1/repository/{repo}/mirror: the checks of Quay's handler, in
// its order and as its version makes them, then the registry's
// CreateMirror.
func (c *call) createMirror() {
	data, unlock, ok := c.beginMirrorWrite("CreateMirrorConfig")
	if !ok {
		return
	}
	defer unlock()
	v := c.e.version
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
	cfg, x := c.createdConfig(data, start)
	if len(cfg.TagGlobs) == 0 {
		c.invalid(msgRuleValue)
		return
	}
	// create_rule has stored the rule row: a failure from here on leaves
	// it behind, an orphan that a later PUT of root_rule may change
	// instead of the mirror's own row.
	created := false
	defer func() {
		if !created {
			c.e.addOrphanRule(c.ns, c.name, cfg.TagGlobs)
		}
	}()
	if _, hasRobot := data["robot_username"].(string); !hasRobot {
		c.html(http.StatusInternalServerError) // data["robot_username"]: KeyError
		return
	}
	if fail := c.failureAfterRobot(data, ref); fail != nil {
		// The robot was checked and granted write before the failure.
		if err := c.e.reg.PrepareMirrorRobot(c.ctx(), c.ns, c.name, cfg.Robot); err != nil {
			c.fail(err)
			return
		}
		fail()
		return
	}
	var archErr string
	if hasArch && v.architectureFilter() && archValue != nil && !v.hardened() {
		// Checked after the configuration is created.
		if archErr = c.archProblem(archValue); archErr != "" {
			cfg.ArchitectureFilter = nil
		}
	}
	if err := c.e.reg.CreateMirror(c.ctx(), c.ns, c.name, cfg); err != nil {
		c.fail(err)
		return
	}
	created = true
	c.e.setExtras(c.ns, c.name, x)
	c.e.logChange(c.who, c.ns, c.name, "external_reference", ref)
	if archErr != "" {
		c.detail(http.StatusBadRequest, archErr)
		return
	}
	c.emptyString(http.StatusCreated)
}

// createdConfig reads a mirror POST's body: the configuration, and which
// external_registry_config keys were sent (stored as sent).
func (c *call) createdConfig(data map[string]any, start time.Time) (quaymirror.MirrorConfig, mirrorExtras) {
	cfg := quaymirror.MirrorConfig{
		Enabled:           true,
		ExternalReference: data["external_reference"].(string),
		SyncInterval:      time.Duration(integerField(data, "sync_interval")) * time.Second,
		SyncStartDate:     start,
		TagGlobs:          strings_(data["root_rule"].(map[string]any)["rule_value"]),
		VerifyTLS:         true,
	}
	cfg.Robot, _ = data["robot_username"].(string)
	if b, ok := data["is_enabled"].(bool); ok {
		cfg.Enabled = b
	}
	cfg.Username, _ = data["external_registry_username"].(string)
	if p, _ := data["external_registry_password"].(string); p != "" {
		cfg.Password = quaymirror.Secret(p)
	}
	if c.e.version.skopeoTimeout() {
		cfg.SkopeoTimeout = time.Duration(integerField(data, "skopeo_timeout_interval")) * time.Second
	}
	if c.e.version.architectureFilter() {
		cfg.ArchitectureFilter = strings_(data["architecture_filter"])
	}
	var x mirrorExtras
	if rc, ok := data["external_registry_config"].(map[string]any); ok {
		if b, ok := rc["verify_tls"].(bool); ok {
			cfg.VerifyTLS, x.verifyTLS = b, true
		}
		if b, ok := rc["unsigned_images"].(bool); ok {
			cfg.UnsignedImages, x.unsigned = b, true
		}
		if p, ok := rc["proxy"].(map[string]any); ok {
			x.proxy = true
			for i, k := range proxyKeyNames {
				if val, present := p[k]; present {
					s, _ := val.(string)
					x.proxyKeys[i] = true
					setProxy(&cfg.Proxy, i, s)
				}
			}
		}
	}
	return cfg, x
}

// failureAfterRobot returns how the version fails a POST after it checked
// the robot and granted it write, or nil: enable_mirroring_for_repository
// takes only its keyword arguments (any other key left in the body is a
// TypeError, 500), and the hardened 3.9, 3.10 and 3.12 lines check the
// reference there, without DNS (400 {"message"} with the detail).
func (c *call) failureAfterRobot(data map[string]any, ref string) func() {
	v := c.e.version
	for k := range data {
		switch k {
		case "root_rule", "robot_username", "external_reference", "sync_interval", "sync_start_date",
			"external_registry_username", "external_registry_password", "external_registry_config", "is_enabled":
		case "skopeo_timeout_interval":
			if !v.skopeoTimeout() && !v.skopeoDroppedOnPost() {
				return func() { c.html(http.StatusInternalServerError) }
			}
		case "architecture_filter":
			if !v.architectureFilter() && !v.architectureDroppedOnPost() {
				return func() { c.html(http.StatusInternalServerError) }
			}
		default:
			return func() { c.html(http.StatusInternalServerError) }
		}
	}
	if v.referenceCheckedInModel() {
		if msg, _ := c.e.referenceProblem(ref, false); msg != "" {
			return func() { c.message(http.StatusBadRequest, msg) }
		}
	}
	return nil
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

// hasOrphanRule reports whether a failed POST left a rule row behind.
func (e *Emulator) hasOrphanRule(ns, name string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.orphanRules[repoKey(ns, name)]) > 0
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

// block is one block of Quay's mirror PUT handler: the body key that
// triggers it, the API's check (which returns how to refuse, or nil), the
// registry fields it changes, and what it leaves once applied (what the
// emulator keeps of its own, the audit log).
type block struct {
	key    string
	check  func() (refuse func())
	fields []quaymirror.Field
	done   func()
}

// PUT /api/v1/repository/{repo}/mirror: the blocks of Quay's handler, in
// its order, carried out by the registry's UpdateMirror (hardened
// releases validate every block first) or UpdateMirrorInOrder (older ones
// keep what the blocks before a refusal changed).
func (c *call) updateMirror() {
	data, unlock, ok := c.beginMirrorWrite("UpdateMirrorConfig")
	if !ok {
		return
	}
	defer unlock()
	m, has := c.e.reg.Mirror(c.ns, c.name)
	if !has {
		c.notFound()
		return
	}
	cfg := m.Config
	x := extrasFor(c.e.extrasOf(c.ns, c.name), m.Config)
	blocks := c.updateBlocks(data, &cfg, &x)
	var refuse func()
	applied := blocks
	if c.e.version.hardened() {
	checks:
		for _, key := range hardenedChecks {
			for _, b := range blocks {
				if b.key == key && b.check != nil {
					if refuse = b.check(); refuse != nil {
						break checks
					}
				}
			}
		}
		if refuse != nil {
			refuse()
			return
		}
		if err := c.e.reg.UpdateMirror(c.ctx(), c.ns, c.name, cfg, fieldsOf(blocks)); err != nil {
			c.fail(err)
			return
		}
	} else {
		for i, b := range blocks {
			if b.check == nil {
				continue
			}
			if refuse = b.check(); refuse != nil {
				applied = blocks[:i]
				break
			}
		}
		err := c.e.reg.UpdateMirrorInOrder(c.ctx(), c.ns, c.name, cfg, fieldsOf(applied))
		var refused *fake.Error
		switch {
		case errors.As(err, &refused) && refused.Field != "":
			applied = appliedBefore(applied, refused.Field)
			refuse = func() { c.fail(err) }
		case err != nil:
			c.fail(err)
			return
		}
	}
	for _, b := range applied {
		if b.done != nil {
			b.done()
		}
	}
	c.e.setExtras(c.ns, c.name, x)
	if refuse != nil {
		refuse()
		return
	}
	c.emptyString(http.StatusCreated)
}

func fieldsOf(blocks []block) []quaymirror.Field {
	var out []quaymirror.Field
	for _, b := range blocks {
		out = append(out, b.fields...)
	}
	return out
}

// appliedBefore returns the blocks before the one that changes f.
func appliedBefore(blocks []block, f quaymirror.Field) []block {
	for i, b := range blocks {
		if slices.Contains(b.fields, f) {
			return blocks[:i]
		}
	}
	return blocks
}

// updateBlocks returns the blocks of Quay's PUT handler that data
// triggers, in its order, and sets in cfg the values they write. The
// changes to x happen when a block is done.
func (c *call) updateBlocks(data map[string]any, cfg *quaymirror.MirrorConfig, x *mirrorExtras) []block {
	v := c.e.version
	has := func(key string) bool { _, ok := data[key]; return ok }
	logged := func(changed string, to any) func() {
		return func() { c.e.logChange(c.who, c.ns, c.name, changed, to) }
	}
	refuse := func(bad bool, answer func()) func() func() {
		return func() func() {
			if bad {
				return answer
			}
			return nil
		}
	}
	detail := func(msg string) func() { return func() { c.detail(http.StatusBadRequest, msg) } }
	var out []block
	// add appends the block of key, when data has it, changing f to what
	// set writes into cfg (and returns for the audit log).
	add := func(key string, f quaymirror.Field, check func() func(), set func() any) {
		if has(key) {
			out = append(out, block{key: key, fields: []quaymirror.Field{f}, check: check, done: logged(key, set())})
		}
	}
	add("is_enabled", quaymirror.FieldEnabled, nil, func() any { cfg.Enabled = data["is_enabled"].(bool); return cfg.Enabled })
	ref, _ := data["external_reference"].(string)
	refCheck := refuse(ref == "" && !v.hardened(), detail("Empty string is an invalid repository location."))
	if v.hardened() {
		refCheck = func() func() {
			if msg := c.e.apiReferenceProblem(ref); msg != "" {
				return func() { c.invalid(msg) }
			}
			return nil
		}
	}
	add("external_reference", quaymirror.FieldExternalReference, refCheck, func() any { cfg.ExternalReference = ref; return ref })
	add("robot_username", quaymirror.FieldRobot, nil, func() any { cfg.Robot = data["robot_username"].(string); return cfg.Robot })
	date, _ := data["sync_start_date"].(string)
	start, ok := parseQuayDate(date)
	add("sync_start_date", quaymirror.FieldSyncStartDate, refuse(!ok, detail(msgBadDate)), func() any { cfg.SyncStartDate = start; return isoformatZ(start) })
	add("sync_interval", quaymirror.FieldSyncInterval, nil, func() any {
		cfg.SyncInterval = time.Duration(integerField(data, "sync_interval")) * time.Second
		return seconds(cfg.SyncInterval)
	})
	if v.skopeoTimeout() {
		add("skopeo_timeout_interval", quaymirror.FieldSkopeoTimeout, nil, func() any {
			cfg.SkopeoTimeout = time.Duration(integerField(data, "skopeo_timeout_interval")) * time.Second
			return seconds(cfg.SkopeoTimeout)
		})
	}
	if v.architectureFilter() {
		msg := c.archProblem(data["architecture_filter"])
		add("architecture_filter", quaymirror.FieldArchitectureFilter, refuse(msg != "", detail(msg)), func() any {
			cfg.ArchitectureFilter = strings_(data["architecture_filter"])
			return cfg.ArchitectureFilter
		})
	}
	pw, both := data["external_registry_password"]
	if has("external_registry_username") {
		name, _ := data["external_registry_username"].(string)
		cfg.Username = name
		f := quaymirror.FieldUsername
		if both {
			s, _ := pw.(string)
			cfg.Password, f = quaymirror.Secret(s), quaymirror.FieldPassword
		}
		out = append(out, block{key: "external_registry_username", fields: []quaymirror.Field{f},
			check: refuse(both && data["external_registry_username"] == nil && pw != nil, detail("Unable to delete username while setting a password.")),
			done:  logged("external_registry_username", nullable(name))})
	}
	if both {
		out = append(out, block{key: "external_registry_password",
			check: refuse(!has("external_registry_username"), detail("Unable to set a new password without also specifying a username."))})
	}
	if rc, ok := data["external_registry_config"].(map[string]any); ok {
		out = append(out, c.registryConfigBlock(rc, cfg, x))
	}
	if rule, ok := data["root_rule"].(map[string]any); ok {
		globs := strings_(rule["rule_value"])
		b := block{key: "root_rule", check: refuse(len(globs) == 0, func() { c.invalid(msgRuleValue) }), done: logged("mirror_rule", globs)}
		if c.e.hasOrphanRule(c.ns, c.name) {
			// change_rule updates the repository's first rule row
			// (RepoMirrorRule.get, no ORDER BY), which is an orphan
			// when a failed POST left one: the mirror keeps its own
			// rule, and GET shows it unchanged.
			b.done = func() { c.e.changeOrphanRule(c.ns, c.name, globs); logged("mirror_rule", globs)() }
		} else {
			cfg.TagGlobs, b.fields = globs, []quaymirror.Field{quaymirror.FieldTagGlobs}
		}
		out = append(out, b)
	}
	return out
}

// registryConfigBlock is the external_registry_config block: verify_tls,
// unsigned_images (3.7+) and the proxy keys, where
// change_external_registry_config creates a missing "proxy" object and
// drops the value of the first key it was sent for.
func (c *call) registryConfigBlock(rc map[string]any, cfg *quaymirror.MirrorConfig, x *mirrorExtras) block {
	b := block{key: "external_registry_config"}
	var done []func()
	change := func(f quaymirror.Field, what string, to any, extra func()) {
		if !slices.Contains(b.fields, f) {
			b.fields = append(b.fields, f)
		}
		done = append(done, extra, func() { c.e.logChange(c.who, c.ns, c.name, what, to) })
	}
	if v, ok := rc["verify_tls"].(bool); ok {
		cfg.VerifyTLS = v
		change(quaymirror.FieldVerifyTLS, "verify_tls", v, func() { x.verifyTLS = true })
	}
	if v, ok := rc["unsigned_images"].(bool); ok && c.e.version.unsignedImages() {
		cfg.UnsignedImages = v
		change(quaymirror.FieldUnsignedImages, "unsigned_images", v, func() { x.unsigned = true })
	}
	if p, ok := rc["proxy"].(map[string]any); ok {
		hadProxy := x.proxy
		for i, k := range proxyKeyNames {
			val, present := p[k]
			if !present {
				continue
			}
			if !hadProxy {
				hadProxy = true
				done = append(done, func() { x.proxy = true })
				continue
			}
			s, _ := val.(string)
			setProxy(&cfg.Proxy, i, s)
			change(quaymirror.FieldProxy, k, val, func() { x.proxy, x.proxyKeys[i] = true, true })
		}
	}
	b.done = func() {
		for _, d := range done {
			d()
		}
	}
	return b
}

// POST /api/v1/repository/{repo}/mirror/sync-now
func (c *call) syncNow() { c.syncControl(c.e.reg.SyncNow, "SYNC_NOW") }

// POST /api/v1/repository/{repo}/mirror/sync-cancel
func (c *call) syncCancel() { c.syncControl(c.e.reg.CancelSync, "SYNC_CANCEL") }

func (c *call) syncControl(op func(ctx context.Context, namespace, name string) error, logged string) {
	if !c.requireMirrorRepo() {
		return
	}
	if err := op(c.ctx(), c.ns, c.name); err != nil {
		c.fail(err)
		return
	}
	c.e.logChange(c.who, c.ns, c.name, "sync_status", logged)
	c.noContent()
}
