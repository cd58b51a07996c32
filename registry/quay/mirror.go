package quay

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// JSON keys of the mirror configuration that depend on the Quay version.
const (
	keySkopeoTimeout      = "skopeo_timeout_interval"
	keyArchitectureFilter = "architecture_filter"
	keyRegistryConfig     = "external_registry_config"
	keyProxy              = "proxy"
)

// defaultSkopeoTimeout is sent when the server requires a skopeo timeout
// (Quay 3.15+) and the configuration leaves it to the server: Quay's
// minimum, and the default of its UI.
const defaultSkopeoTimeout = 300 * time.Second

// dateLayout is the only date format Quay's mirror endpoints accept.
const dateLayout = "2006-01-02T15:04:05Z"

// mirrorJSON is a mirror configuration as GET .../mirror returns it.
type mirrorJSON struct {
	IsEnabled                bool    `json:"is_enabled"`
	ExternalReference        string  `json:"external_reference"`
	ExternalRegistryUsername *string `json:"external_registry_username"`
	ExternalRegistryConfig   *struct {
		VerifyTLS      *bool `json:"verify_tls"`
		UnsignedImages *bool `json:"unsigned_images"`
		Proxy          *struct {
			HTTPProxy  *string `json:"http_proxy"`
			HTTPSProxy *string `json:"https_proxy"`
			NoProxy    *string `json:"no_proxy"`
		} `json:"proxy"`
	} `json:"external_registry_config"`
	SyncInterval         *int64  `json:"sync_interval"`
	SyncStartDate        *string `json:"sync_start_date"`
	SyncExpirationDate   *string `json:"sync_expiration_date"`
	SyncRetriesRemaining *int    `json:"sync_retries_remaining"`
	SyncStatus           string  `json:"sync_status"`
	RootRule             *struct {
		RuleKind  string   `json:"rule_kind"`
		RuleValue []string `json:"rule_value"`
	} `json:"root_rule"`
	RobotUsername         *string  `json:"robot_username"`
	SkopeoTimeoutInterval *int64   `json:"skopeo_timeout_interval"`
	ArchitectureFilter    []string `json:"architecture_filter"`
}

// GetMirror reads GET /api/v1/repository/{namespace}/{name}/mirror. A
// repository without a mirror configuration, or a missing one, is
// ErrNotFound. A 500 is quaymirror.ErrUnreadable: Quay's answer when the
// stored credentials no longer decrypt, which re-sending them repairs. The password is never returned. Dates may come with
// microseconds or be null; VerifyTLS is true when the stored configuration
// does not say (Quay's default).
func (c *Client) GetMirror(ctx context.Context, namespace, name string) (*quaymirror.Mirror, error) {
	p, err := repoPath(namespace, name)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, request{method: http.MethodGet, path: "/repository/" + p + "/mirror"})
	var qe *Error
	if errors.As(err, &qe) && qe.Status == http.StatusInternalServerError {
		// Quay's GET decrypts the stored username; when that fails
		// (DATABASE_SECRET_KEY changed) its error path names an undefined
		// logger. PUT does not decrypt, so re-sending the configuration
		// repairs it.
		qe.Kind = quaymirror.ErrUnreadable
		return nil, fmt.Errorf("quay: the mirror configuration of %s/%s cannot be read: Quay answers 500 when its stored credentials "+
			"no longer decrypt (its DATABASE_SECRET_KEY changed), and re-sending them repairs it: %w", namespace, name, err)
	}
	if err != nil {
		return nil, err
	}
	var m mirrorJSON
	if err := resp.Decode(&m); err != nil {
		return nil, err
	}
	if m.ExternalReference == "" {
		return nil, resp.Bad("the mirror configuration has no external_reference")
	}
	cfg := quaymirror.MirrorConfig{
		Enabled:           m.IsEnabled,
		ExternalReference: m.ExternalReference,
		Username:          deref(m.ExternalRegistryUsername),
		Robot:             deref(m.RobotUsername),
		VerifyTLS:         true,
	}
	if m.SyncInterval != nil {
		cfg.SyncInterval = time.Duration(*m.SyncInterval) * time.Second
	}
	if m.RootRule != nil {
		cfg.TagGlobs = m.RootRule.RuleValue
	}
	if rc := m.ExternalRegistryConfig; rc != nil {
		if rc.VerifyTLS != nil {
			cfg.VerifyTLS = *rc.VerifyTLS
		}
		if rc.UnsignedImages != nil {
			cfg.UnsignedImages = *rc.UnsignedImages
		}
		if px := rc.Proxy; px != nil {
			cfg.Proxy = quaymirror.Proxy{HTTPProxy: deref(px.HTTPProxy), HTTPSProxy: deref(px.HTTPSProxy), NoProxy: deref(px.NoProxy)}
		}
	}
	if m.SkopeoTimeoutInterval != nil {
		cfg.SkopeoTimeout = time.Duration(*m.SkopeoTimeoutInterval) * time.Second
	}
	if len(m.ArchitectureFilter) > 0 {
		cfg.ArchitectureFilter = m.ArchitectureFilter
	}
	st := quaymirror.MirrorStatus{SyncStatus: quaymirror.SyncStatus(m.SyncStatus)}
	if m.SyncRetriesRemaining != nil {
		st.RetriesRemaining = *m.SyncRetriesRemaining
	}
	if st.NextSync, err = parseQuayTime(m.SyncStartDate); err != nil {
		return nil, resp.Bad("sync_start_date: %v", err)
	}
	if st.Expiration, err = parseQuayTime(m.SyncExpirationDate); err != nil {
		return nil, resp.Bad("sync_expiration_date: %v", err)
	}
	cfg.SyncStartDate = st.NextSync
	return &quaymirror.Mirror{Config: cfg, Status: st}, nil
}

// CreateMirror sends POST /api/v1/repository/{namespace}/{name}/mirror
// with the whole configuration, which also sets the repository state to
// MIRROR. The body follows the server's CreateMirrorConfig (see
// Capabilities): skopeo_timeout_interval only when declared (cfg's value,
// or 300 s when the server requires one and cfg leaves it zero),
// architecture_filter only when declared and non-empty, unsigned_images
// only when declared; a non-zero value the server does not declare is
// refused with ErrUnsupported before any write. The proxy object is always
// sent whole (null for empty values), so that later updates of it work
// (see UpdateMirror). Credentials are null when empty. A zero SyncStartDate
// is sent as now.
//
// Robot and TagGlobs are required (ErrInvalid before any request: Quay
// fails with a 500 without a robot). An existing configuration is
// ErrAlreadyExists (409) unless the request was retried after a failure in
// flight and the stored configuration has the external reference and robot
// sent, in which case it was ours and CreateMirror succeeds.
func (c *Client) CreateMirror(ctx context.Context, namespace, name string, cfg quaymirror.MirrorConfig) error {
	p, err := repoPath(namespace, name)
	if err != nil {
		return err
	}
	switch {
	case cfg.ExternalReference == "":
		return fmt.Errorf("quay: create mirror %s/%s: empty external reference: %w", namespace, name, quaymirror.ErrInvalid)
	case cfg.Robot == "":
		return fmt.Errorf("quay: create mirror %s/%s: empty robot: %w", namespace, name, quaymirror.ErrInvalid)
	case len(cfg.TagGlobs) == 0:
		return fmt.Errorf("quay: create mirror %s/%s: no tag globs: %w", namespace, name, quaymirror.ErrInvalid)
	}
	shape, err := c.mirrorShape(ctx)
	if err != nil {
		return err
	}
	body := map[string]any{
		"is_enabled":                 cfg.Enabled,
		"external_reference":         cfg.ExternalReference,
		"external_registry_username": nullable(cfg.Username),
		"external_registry_password": nullable(cfg.Password.Reveal()),
		"sync_interval":              seconds(cfg.SyncInterval),
		"sync_start_date":            c.formatDate(cfg.SyncStartDate),
		"robot_username":             cfg.Robot,
		"root_rule":                  rootRule(cfg.TagGlobs),
		keyRegistryConfig: map[string]any{
			"verify_tls":      cfg.VerifyTLS,
			"unsigned_images": cfg.UnsignedImages,
			keyProxy:          proxyObject(cfg.Proxy),
		},
	}
	switch timeout := seconds(cfg.SkopeoTimeout); {
	case timeout != 0:
		body[keySkopeoTimeout] = timeout
	case slices.Contains(shape.create.Required, keySkopeoTimeout):
		body[keySkopeoTimeout] = seconds(defaultSkopeoTimeout)
	}
	if len(cfg.ArchitectureFilter) > 0 {
		body[keyArchitectureFilter] = slices.Clone(cfg.ArchitectureFilter)
	}
	if err := fit(body, shape.create, ""); err != nil {
		return fmt.Errorf("quay: create mirror %s/%s: %w", namespace, name, err)
	}
	if err := c.checkArchitectureFilter(ctx, body); err != nil {
		return fmt.Errorf("quay: create mirror %s/%s: %w", namespace, name, err)
	}
	_, err = c.do(ctx, request{method: http.MethodPost, path: "/repository/" + p + "/mirror", body: body, secrets: []string{cfg.Password.Reveal()}})
	if retriedConflict(err) {
		if m, gerr := c.GetMirror(ctx, namespace, name); gerr == nil &&
			m.Config.ExternalReference == cfg.ExternalReference && m.Config.Robot == cfg.Robot {
			c.verified(namespace + "/" + name + " mirror")
			return nil
		}
	}
	return err
}

// UpdateMirror sends PUT /api/v1/repository/{namespace}/{name}/mirror with
// the listed fields of cfg only (Quay answers 201). FieldPassword sends the
// username with it (Quay refuses a password alone); empty credentials are
// sent as null, which clears them. FieldUsername alone changes only the
// username. Nested fields (FieldVerifyTLS, FieldUnsignedImages, FieldProxy)
// send only their key of external_registry_config. FieldSkopeoTimeout
// sends 300 s when cfg leaves it zero and the server declares it. Fields
// the server does not declare (see Capabilities) are dropped when zero and
// refused with ErrUnsupported otherwise, before any write; when nothing is
// left to send, no write is made.
// FieldState is not a mirror field (use ChangeState): ErrInvalid.
//
// A PUT carrying root_rule is followed by a GET of the mirror: when the
// tag globs read back differ (the change landed on an orphan tag rule row
// a failed create left), UpdateMirror returns an error wrapping
// ErrNotApplied that says so.
//
// Proxy: Quay drops the first proxy key of a PUT when the stored
// configuration has no proxy object yet (configurations created without
// one, e.g. from the UI). A PUT carrying the proxy is therefore followed by
// a second PUT carrying only the whole proxy object: the first creates the
// object, the second sets every key, and on a configuration that already
// had one the second is a harmless repeat. The result is the proxy asked
// for whatever was stored.
func (c *Client) UpdateMirror(ctx context.Context, namespace, name string, cfg quaymirror.MirrorConfig, fields []quaymirror.Field) error {
	p, err := repoPath(namespace, name)
	if err != nil {
		return err
	}
	if len(fields) == 0 {
		return nil
	}
	shape, err := c.mirrorShape(ctx)
	if err != nil {
		return err
	}
	body := map[string]any{}
	registryConfig := map[string]any{}
	for _, f := range fields {
		switch f {
		case quaymirror.FieldEnabled:
			body["is_enabled"] = cfg.Enabled
		case quaymirror.FieldExternalReference:
			if cfg.ExternalReference == "" {
				return fmt.Errorf("quay: update mirror %s/%s: empty external reference: %w", namespace, name, quaymirror.ErrInvalid)
			}
			body["external_reference"] = cfg.ExternalReference
		case quaymirror.FieldUsername:
			body["external_registry_username"] = nullable(cfg.Username)
		case quaymirror.FieldPassword:
			if cfg.Username == "" && cfg.Password != "" {
				return fmt.Errorf("quay: update mirror %s/%s: a password needs a username: %w", namespace, name, quaymirror.ErrInvalid)
			}
			body["external_registry_username"] = nullable(cfg.Username)
			body["external_registry_password"] = nullable(cfg.Password.Reveal())
		case quaymirror.FieldSyncInterval:
			body["sync_interval"] = seconds(cfg.SyncInterval)
		case quaymirror.FieldSyncStartDate:
			body["sync_start_date"] = c.formatDate(cfg.SyncStartDate)
		case quaymirror.FieldTagGlobs:
			if len(cfg.TagGlobs) == 0 {
				return fmt.Errorf("quay: update mirror %s/%s: no tag globs: %w", namespace, name, quaymirror.ErrInvalid)
			}
			body["root_rule"] = rootRule(cfg.TagGlobs)
		case quaymirror.FieldRobot:
			if cfg.Robot == "" {
				return fmt.Errorf("quay: update mirror %s/%s: empty robot: %w", namespace, name, quaymirror.ErrInvalid)
			}
			body["robot_username"] = cfg.Robot
		case quaymirror.FieldVerifyTLS:
			registryConfig["verify_tls"] = cfg.VerifyTLS
		case quaymirror.FieldUnsignedImages:
			registryConfig["unsigned_images"] = cfg.UnsignedImages
		case quaymirror.FieldProxy:
			registryConfig[keyProxy] = proxyObject(cfg.Proxy)
		case quaymirror.FieldSkopeoTimeout:
			t := seconds(cfg.SkopeoTimeout)
			if t == 0 && shape.update.declares(keySkopeoTimeout) {
				t = seconds(defaultSkopeoTimeout)
			}
			body[keySkopeoTimeout] = t
		case quaymirror.FieldArchitectureFilter:
			filter := slices.Clone(cfg.ArchitectureFilter)
			if filter == nil {
				filter = []string{}
			}
			body[keyArchitectureFilter] = filter
		default:
			return fmt.Errorf("quay: update mirror %s/%s: %q is not a mirror field: %w", namespace, name, f, quaymirror.ErrInvalid)
		}
	}
	if len(registryConfig) > 0 {
		body[keyRegistryConfig] = registryConfig
	}
	if err := fit(body, shape.update, ""); err != nil {
		return fmt.Errorf("quay: update mirror %s/%s: %w", namespace, name, err)
	}
	if err := c.checkArchitectureFilter(ctx, body); err != nil {
		return fmt.Errorf("quay: update mirror %s/%s: %w", namespace, name, err)
	}
	if len(body) == 0 {
		c.logger.Debug("nothing this server accepts is left to update", "repository", namespace+"/"+name)
		return nil
	}
	secrets := []string{cfg.Password.Reveal()}
	path := "/repository/" + p + "/mirror"
	if _, err := c.do(ctx, request{method: http.MethodPut, path: path, body: body, secrets: secrets}); err != nil {
		return err
	}
	if _, ok := registryConfig[keyProxy]; ok {
		again := map[string]any{keyRegistryConfig: map[string]any{keyProxy: proxyObject(cfg.Proxy)}}
		if _, err := c.do(ctx, request{method: http.MethodPut, path: path, body: again, secrets: secrets}); err != nil {
			return fmt.Errorf("quay: update mirror %s/%s: second proxy PUT: %w", namespace, name, err)
		}
	}
	if _, ok := body["root_rule"]; ok {
		return c.checkTagGlobs(ctx, namespace, name, cfg.TagGlobs)
	}
	return nil
}

// checkTagGlobs reads the mirror back after a PUT of root_rule. Quay's
// change_rule updates the repository's first RepoMirrorRule row, which is
// not the mirror's own when a mirror POST that failed after storing its
// rule (an unknown robot, say) left an orphan row: the PUT answers 201 and
// GET still shows the old globs. That is ErrNotApplied.
func (c *Client) checkTagGlobs(ctx context.Context, namespace, name string, want []string) error {
	m, err := c.GetMirror(ctx, namespace, name)
	if err != nil {
		return fmt.Errorf("quay: update mirror %s/%s: reading the tag globs back: %w", namespace, name, err)
	}
	if quaymirror.SameTagGlobs(m.Config.TagGlobs, want) {
		return nil
	}
	return fmt.Errorf("quay: update mirror %s/%s: Quay answered the tag glob change with success but the mirror still has %q, not %q: "+
		"the change went to another tag rule (RepoMirrorRule) row of the repository, an orphan that a failed mirror create left behind, "+
		"which Quay's API cannot remove (delete the row in Quay's database, or delete and recreate the repository): %w",
		namespace, name, strings.Join(m.Config.TagGlobs, ","), strings.Join(want, ","), quaymirror.ErrNotApplied)
}

// SyncNow sends POST .../mirror/sync-now (204). A repository without a
// mirror configuration, or one that is SYNCING, is ErrNotFound (Quay's
// answer).
func (c *Client) SyncNow(ctx context.Context, namespace, name string) error {
	return c.mirrorAction(ctx, namespace, name, "sync-now")
}

// CancelSync sends POST .../mirror/sync-cancel (204). A mirror that is not
// SYNCING or SYNC_NOW is ErrNotFound (Quay's answer).
func (c *Client) CancelSync(ctx context.Context, namespace, name string) error {
	return c.mirrorAction(ctx, namespace, name, "sync-cancel")
}

func (c *Client) mirrorAction(ctx context.Context, namespace, name, action string) error {
	p, err := repoPath(namespace, name)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, request{method: http.MethodPost, path: "/repository/" + p + "/mirror/" + action})
	return err
}

// checkArchitectureFilter refuses a body carrying a non-empty
// architecture_filter when the server's FEATURE_SPARSE_INDEX is off: Quay
// 3.17.4 then answers 400, and 3.17.0 to 3.17.3 and 3.18.0 first create
// the mirror without the filter (the repository turned MIRROR) and then
// answer 400.
func (c *Client) checkArchitectureFilter(ctx context.Context, body map[string]any) error {
	if filter, _ := body[keyArchitectureFilter].([]string); len(filter) == 0 || !c.sparseIndexOff(ctx) {
		return nil
	}
	return fmt.Errorf("architecture_filter: the server refuses an architecture filter while its FEATURE_SPARSE_INDEX is off: %w", quaymirror.ErrUnsupported)
}

// fit removes from body the keys that schema s does not declare, walking
// nested objects that declare their properties. A key that is not declared
// but carries a non-zero value is an error wrapping ErrUnsupported: the
// server would ignore it, or fail with a 500 (see the version traps of
// quay-api.md). A nested object left empty is removed.
func fit(body map[string]any, s *schemaNode, prefix string) error {
	keys := make([]string, 0, len(body))
	for k := range body {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := body[k]
		prop, ok := s.Properties[k]
		if !ok {
			if isZero(v) {
				delete(body, k)
				continue
			}
			return fmt.Errorf("%s%s is not supported by this Quay version: %w", prefix, k, quaymirror.ErrUnsupported)
		}
		nested, isObject := v.(map[string]any)
		if !isObject || prop == nil || prop.Properties == nil {
			continue
		}
		if err := fit(nested, prop, prefix+k+"."); err != nil {
			return err
		}
		if len(nested) == 0 {
			delete(body, k)
		}
	}
	return nil
}

func isZero(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case bool:
		return !x
	case string:
		return x == ""
	case int64:
		return x == 0
	case []string:
		return len(x) == 0
	case map[string]any:
		for _, e := range x {
			if !isZero(e) {
				return false
			}
		}
		return true
	}
	return false
}

func rootRule(globs []string) map[string]any {
	return map[string]any{"rule_kind": "tag_glob_csv", "rule_value": slices.Clone(globs)}
}

func proxyObject(p quaymirror.Proxy) map[string]any {
	return map[string]any{
		"http_proxy":  nullable(p.HTTPProxy),
		"https_proxy": nullable(p.HTTPSProxy),
		"no_proxy":    nullable(p.NoProxy),
	}
}

// nullable is nil (JSON null) for an empty string.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// seconds is d in whole seconds, as Quay's intervals are.
func seconds(d time.Duration) int64 { return int64(d / time.Second) }

// formatDate renders t as Quay requires: whole seconds, UTC, a literal Z.
// The zero time is now.
func (c *Client) formatDate(t time.Time) string {
	if t.IsZero() {
		t = c.now()
	}
	return t.UTC().Format(dateLayout)
}

// parseQuayTime reads a date as Quay returns it: Python's isoformat plus
// "Z", with or without microseconds, or null (the zero time).
func parseQuayTime(s *string) (time.Time, error) {
	if s == nil || *s == "" {
		return time.Time{}, nil
	}
	// An aware datetime would read "...+00:00Z": try without the Z too.
	for _, v := range []string{*s, strings.TrimSuffix(*s, "Z")} {
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
			if t, err := time.Parse(layout, v); err == nil {
				return t.UTC(), nil
			}
		}
	}
	return time.Time{}, fmt.Errorf("unreadable date %q", *s)
}
