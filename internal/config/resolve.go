package config

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// Need says which parts of the configuration a command uses; Resolve
// checks only those.
type Need uint

// Needs.
const (
	// NeedSource: the source registry and per-organisation source tokens.
	NeedSource Need = 1 << iota
	// NeedDestination: the destination registry and per-organisation
	// destination tokens.
	NeedDestination
	// NeedOrganizations: at least one organisation.
	NeedOrganizations
	// NeedPolicy: the robot and everything a mirror configuration needs.
	NeedPolicy
	// WantSource: the source as NeedSource, when SOURCE_REGISTRY and a
	// source token (SOURCE_TOKEN or SOURCE_TOKENS_DIR) are set; nothing
	// otherwise.
	WantSource

	// NeedSync is what sync, plan, check and verify need.
	NeedSync = NeedSource | NeedDestination | NeedOrganizations | NeedPolicy
	// NeedStatus is what status needs: the source too when it is
	// configured, to report the repositories missing or not mirrored at
	// the destination.
	NeedStatus = NeedDestination | NeedOrganizations | WantSource
)

// maxSecretFile bounds token and credential files.
const maxSecretFile = 16 << 10

// Resolved is a checked configuration with its files read.
type Resolved struct {
	*Config
	// Source and Destination are the registries' base URLs (nil when not
	// needed).
	Source, Destination *url.URL
	// ReferenceHost is the host[:port] written into external references.
	ReferenceHost string
	// CABundle is the PEM of CA_BUNDLE, or nil.
	CABundle []byte
	// Username and Password are the mirrors' pull credentials.
	Username string
	Password quaymirror.Secret
	// Orgs are the organisation pairs with their tokens and robot.
	Orgs []ResolvedOrg
}

// ResolvedOrg is one organisation pair ready to run.
type ResolvedOrg struct {
	Org
	// Robot is the full robot name, "dst+short".
	Robot            string
	SourceToken      quaymirror.Secret
	DestinationToken quaymirror.Secret
	// SourceUsername and SourcePassword are the Basic credentials of a
	// harbor or oci source (empty with a token, or anonymous).
	SourceUsername string
	SourcePassword quaymirror.Secret
}

// Resolve checks c for the needs of a command and reads the files it
// names (tokens, credentials, CA bundle). It sends no request. Every error
// is a one-line *Error naming the setting.
func Resolve(c *Config, need Need) (*Resolved, error) {
	r := &Resolved{Config: c}
	var err error
	if need&WantSource != 0 && strings.TrimSpace(c.SourceRegistry) != "" && (c.SourceToken != "" || c.SourceTokensDir != "") {
		need |= NeedSource
	}
	if need&NeedSource != 0 {
		if r.Source, err = c.registryURL("SOURCE_REGISTRY", c.SourceRegistry); err != nil {
			return nil, err
		}
	}
	if need&NeedDestination != 0 {
		if r.Destination, err = c.registryURL("DESTINATION_REGISTRY", c.DestinationRegistry); err != nil {
			return nil, err
		}
	}
	if need&NeedOrganizations != 0 && len(c.Organizations) == 0 {
		return nil, invalid("ORGANIZATIONS", "no organization given; set ORGANIZATIONS=org1,org2 or pass --org")
	}
	if err := c.checkNumbers(); err != nil {
		return nil, err
	}
	if u := c.MetricsPushgateway.url(); u != nil && u.User != nil && u.Scheme == "http" && !isLoopback(u.Hostname()) && !bool(c.AllowInsecureHTTP) {
		return nil, invalid("METRICS_PUSHGATEWAY", "http:// to %s would send the basic-auth password in clear; use https, or set ALLOW_INSECURE_HTTP=true", u.Hostname())
	}
	if c.CABundle != "" {
		if r.CABundle, err = readCABundle(c.CABundle); err != nil {
			return nil, err
		}
	}
	if need&NeedSource != 0 {
		if err := c.checkSourceAuth(); err != nil {
			return nil, err
		}
		r.ReferenceHost = r.Source.Host
		if c.SourceReferenceHost != "" {
			if !quaymirror.ValidRegistryHost(c.SourceReferenceHost) {
				return nil, invalid("SOURCE_REFERENCE_HOST", "%q is not a host[:port]", c.SourceReferenceHost)
			}
			r.ReferenceHost = c.SourceReferenceHost
		}
	}
	if need&NeedPolicy != 0 {
		if r.Username, r.Password, err = c.credentials(); err != nil {
			return nil, err
		}
	}
	for _, o := range c.Organizations {
		ro := ResolvedOrg{Org: o}
		if need&NeedPolicy != 0 {
			if ro.Robot, err = c.robotFor(o.Destination); err != nil {
				return nil, err
			}
		}
		if need&NeedSource != 0 {
			if err := c.sourceAuth(&ro); err != nil {
				return nil, err
			}
		}
		if need&NeedDestination != 0 {
			if ro.DestinationToken, err = token("DESTINATION_TOKEN", c.DestinationToken, "DESTINATION_TOKENS_DIR", c.DestinationTokensDir, o.Destination); err != nil {
				return nil, err
			}
		}
		r.Orgs = append(r.Orgs, ro)
		if need&NeedPolicy != 0 {
			if err := r.Policy(ro).Validate(); err != nil {
				return nil, policyError(err)
			}
		}
	}
	return r, nil
}

// Org returns the resolved organisation whose source is name.
func (r *Resolved) Org(name string) (ResolvedOrg, bool) {
	for _, o := range r.Orgs {
		if o.Source == name {
			return o, true
		}
	}
	return ResolvedOrg{}, false
}

// Policy is the engine policy of one organisation pair.
func (r *Resolved) Policy(o ResolvedOrg) quaymirror.Policy {
	c := r.Config
	return quaymirror.Policy{
		SourceRegistry:       r.ReferenceHost,
		SourceNamespace:      o.Source,
		DestinationNamespace: o.Destination,
		TagGlobs:             c.TagGlob,
		SyncInterval:         time.Duration(c.SyncInterval) * time.Second,
		Robot:                o.Robot,
		Username:             r.Username,
		Password:             r.Password,
		SkipTLSVerify:        !bool(c.MirrorVerifyTLS),
		UnsignedImages:       bool(c.UnsignedImages),
		Proxy:                quaymirror.Proxy{HTTPProxy: c.MirrorHTTPProxy, HTTPSProxy: c.MirrorHTTPSProxy, NoProxy: c.MirrorNoProxy},
		SkopeoTimeout:        time.Duration(c.SkopeoTimeout) * time.Second,
		ArchitectureFilter:   c.ArchitectureFilter,
		Visibility:           quaymirror.VisibilityPolicy(c.Visibility),
		SkipSyncNow:          !bool(c.SyncNow),
		Recreate:             bool(c.RecreateMirror),
		Include:              c.Include,
		Exclude:              c.Exclude,
		AdoptExisting:        bool(c.AdoptExisting),
		DisableOrphans:       bool(c.DisableOrphans),
		VerifyGrace:          time.Duration(c.VerifyGrace) * time.Second,
	}
}

// policyError names the setting behind a *quaymirror.PolicyError.
func policyError(err error) error {
	var pe *quaymirror.PolicyError
	if !errors.As(err, &pe) {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	setting := map[string]string{
		"SourceRegistry":       "SOURCE_REFERENCE_HOST",
		"SourceNamespace":      "ORGANIZATIONS",
		"DestinationNamespace": "ORGANIZATIONS",
		"TagGlobs":             "TAG_GLOB",
		"SyncInterval":         "SYNC_INTERVAL",
		"SkopeoTimeout":        "SKOPEO_TIMEOUT",
		"Robot":                "ROBOT_NAME",
		"Username":             "QUAY_USERNAME",
		"Visibility":           "VISIBILITY",
		"ArchitectureFilter":   "ARCHITECTURE_FILTER",
		"Include":              "INCLUDE",
		"Exclude":              "EXCLUDE",
		"VerifyGrace":          "VERIFY_GRACE",
	}[pe.Field]
	if setting == "" {
		setting = pe.Field
	}
	return invalid(setting, "%s", pe.Reason)
}

// registryURL parses "host[:port]" (https) or "http(s)://host[:port]".
func (c *Config) registryURL(setting, v string) (*url.URL, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, invalid(setting, "is required: a host such as quay.example.com or a URL https://host[:port]")
	}
	raw := v
	if !strings.Contains(v, "://") {
		if !quaymirror.ValidRegistryHost(v) {
			return nil, invalid(setting, "%s is not a host[:port] or an http(s):// URL", shown(v))
		}
		raw = "https://" + v
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, invalid(setting, "%s is not a valid URL", shown(v))
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, invalid(setting, "scheme %q is not http or https", u.Scheme)
	case u.User != nil:
		return nil, invalid(setting, "the URL must not carry credentials; use the token settings")
	case u.Host == "" || !quaymirror.ValidRegistryHost(u.Host):
		return nil, invalid(setting, "%s has no valid host", shown(v))
	case u.Path != "" && u.Path != "/", u.RawQuery != "", u.Fragment != "":
		return nil, invalid(setting, "%s must be the registry's root URL, without path or query", shown(v))
	case u.Scheme == "http" && !isLoopback(u.Hostname()) && !bool(c.AllowInsecureHTTP):
		return nil, invalid(setting, "http:// to %s would send the token in clear; use https, or set ALLOW_INSECURE_HTTP=true", u.Hostname())
	}
	u.Path = ""
	return u, nil
}

// shown quotes a registry setting for an error message without what could
// be a credential in it: user information, query and fragment are
// replaced by "[redacted]".
func shown(v string) string {
	scheme, rest := "", v
	if i := strings.Index(v, "://"); i >= 0 {
		scheme, rest = v[:i+3], v[i+3:]
	}
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		rest = rest[:i+1] + "[redacted]"
	}
	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		rest = "[redacted]@" + rest[i+1:]
	}
	return strconv.Quote(scheme + rest)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkNumbers checks the settings that are not part of a policy. The
// policy's own (SYNC_INTERVAL, SKOPEO_TIMEOUT, ...) are checked by
// quaymirror.Policy.Validate, the one source of their limits, and named
// by policyError.
func (c *Config) checkNumbers() error {
	switch {
	case c.Concurrency < 1:
		return invalid("CONCURRENCY", "must be at least 1")
	case c.Concurrency > 256:
		return invalid("CONCURRENCY", "%d is more than 256", c.Concurrency)
	case c.QPS > 0 && c.Burst < 1:
		return invalid("BURST", "must be at least 1 when QPS is set")
	case c.RequestTimeout < Duration(time.Second):
		return invalid("REQUEST_TIMEOUT", "%s is below one second", time.Duration(c.RequestTimeout))
	case c.TickPeriod < 1:
		return invalid("TICK_PERIOD", "must be at least 1 second (the schedule of the runs, e.g. 3600 for hourly)")
	case c.FullCheckEvery > 1_000_000:
		return invalid("FULL_CHECK_EVERY", "%d is more than 1000000", c.FullCheckEvery)
	}
	return nil
}

func (c *Config) robotFor(dst string) (string, error) {
	name := strings.TrimSpace(c.RobotName)
	if name == "" {
		return "", invalid("ROBOT_NAME", "is required: the destination robot account that pushes (a short name or org+name)")
	}
	org, short, full := strings.Cut(name, "+")
	if !full {
		short, org = name, dst
	}
	if !quaymirror.ValidRobotShortName(short) {
		return "", invalid("ROBOT_NAME", "%q is not a valid robot name (2 to 255 lowercase letters and digits, runs separated by one '.', '_' or '-')", short)
	}
	if org != dst {
		return "", invalid("ROBOT_NAME", "%s belongs to organization %s, not to the destination %s; give a short name to use <dst-org>+<name>", name, org, dst)
	}
	return dst + "+" + short, nil
}

// token returns an organisation's token from the single-token setting or
// from its file in the token directory.
func token(single string, value quaymirror.Secret, dirSetting, dir, org string) (quaymirror.Secret, error) {
	switch {
	case value != "" && dir != "":
		return "", invalid(single, "set either %s or %s, not both", single, dirSetting)
	case value != "":
		if err := checkToken(value.Reveal()); err != "" {
			return "", invalid(single, "%s", err)
		}
		return value, nil
	case dir == "":
		return "", invalid(single, "no token for organization %s: set %s, or %s to a directory holding a file named %s", org, single, dirSetting, org)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return "", invalid(dirSetting, "%s is not a readable directory", dir)
	}
	b, err := readSmallFile(filepath.Join(dir, org))
	if errors.Is(err, os.ErrNotExist) {
		return "", invalid(dirSetting, "no token file for organization %s in %s", org, dir)
	}
	if err != nil {
		return "", invalid(dirSetting, "cannot read the token of %s: %s", org, cleanFileError(err))
	}
	tok := strings.TrimSpace(string(b))
	if msg := checkToken(tok); msg != "" {
		return "", invalid(dirSetting, "token file %s: %s", filepath.Join(dir, org), msg)
	}
	return quaymirror.Secret(tok), nil
}

// checkSourceAuth checks the source's credential settings against
// SOURCE_TYPE: a Quay source takes a token; Harbor and OCI sources take a
// token, credentials, or nothing (anonymous), not two of them.
func (c *Config) checkSourceAuth() error {
	creds := c.SourceUsername != "" || c.SourcePassword != "" || c.SourceCredentialsDir != ""
	tokens := c.SourceToken != "" || c.SourceTokensDir != ""
	switch {
	case c.SourceType == SourceQuay && creds:
		setting := "SOURCE_USERNAME"
		if c.SourceCredentialsDir != "" && c.SourceUsername == "" {
			setting = "SOURCE_CREDENTIALS_DIR"
		}
		return invalid(setting, "applies to SOURCE_TYPE harbor and oci; a quay source reads with a token (SOURCE_TOKEN or SOURCE_TOKENS_DIR)")
	case creds && tokens:
		return invalid("SOURCE_USERNAME", "set either a token (SOURCE_TOKEN, SOURCE_TOKENS_DIR) or credentials (SOURCE_USERNAME and SOURCE_PASSWORD, SOURCE_CREDENTIALS_DIR), not both")
	case c.SourceCredentialsDir != "" && (c.SourceUsername != "" || c.SourcePassword != ""):
		return invalid("SOURCE_CREDENTIALS_DIR", "set either SOURCE_USERNAME/SOURCE_PASSWORD or SOURCE_CREDENTIALS_DIR, not both")
	case c.SourcePassword != "" && strings.TrimSpace(c.SourceUsername) == "":
		return invalid("SOURCE_USERNAME", "is required when SOURCE_PASSWORD is set")
	case c.SourceUsername != "" && c.SourcePassword == "":
		return invalid("SOURCE_PASSWORD", "is required when SOURCE_USERNAME is set")
	}
	if c.SourceUsername != "" {
		if msg := checkUsername(strings.TrimSpace(c.SourceUsername)); msg != "" {
			return invalid("SOURCE_USERNAME", "%s", msg)
		}
	}
	return nil
}

// sourceAuth fills the source token or credentials of one organisation.
func (c *Config) sourceAuth(ro *ResolvedOrg) error {
	var err error
	switch {
	case c.SourceType == SourceQuay || c.SourceToken != "" || c.SourceTokensDir != "":
		ro.SourceToken, err = token("SOURCE_TOKEN", c.SourceToken, "SOURCE_TOKENS_DIR", c.SourceTokensDir, ro.Source)
	case c.SourceUsername != "":
		ro.SourceUsername, ro.SourcePassword = strings.TrimSpace(c.SourceUsername), c.SourcePassword
	case c.SourceCredentialsDir != "":
		ro.SourceUsername, ro.SourcePassword, err = credentialsFile(c.SourceCredentialsDir, ro.Source)
	}
	return err
}

// credentialsFile reads an organisation's "username:password" file.
func credentialsFile(dir, org string) (string, quaymirror.Secret, error) {
	const setting = "SOURCE_CREDENTIALS_DIR"
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return "", "", invalid(setting, "%s is not a readable directory", dir)
	}
	path := filepath.Join(dir, org)
	b, err := readSmallFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", "", invalid(setting, "no credentials file for organization %s in %s", org, dir)
	}
	if err != nil {
		return "", "", invalid(setting, "cannot read the credentials of %s: %s", org, cleanFileError(err))
	}
	user, pass, ok := strings.Cut(strings.TrimRight(string(b), "\r\n"), ":")
	user = strings.TrimSpace(user)
	switch {
	case !ok || user == "" || pass == "":
		return "", "", invalid(setting, "credentials file %s must hold username:password on one line", path)
	case strings.ContainsAny(pass, "\r\n\x00"):
		return "", "", invalid(setting, "credentials file %s: the password holds a line break", path)
	}
	if msg := checkUsername(user); msg != "" {
		return "", "", invalid(setting, "credentials file %s: %s", path, msg)
	}
	return user, quaymirror.Secret(pass), nil
}

// checkUsername says what is wrong with a Basic user name.
func checkUsername(user string) string {
	switch {
	case user == "":
		return "the user name is empty"
	case strings.ContainsFunc(user, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r == ':' }):
		return "the user name contains white space, control characters or a colon"
	}
	return ""
}

// checkToken says what is wrong with a token, without showing it.
func checkToken(tok string) string {
	switch {
	case strings.TrimSpace(tok) == "":
		return "the token is empty"
	case strings.ContainsFunc(strings.TrimSpace(tok), func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		return "the token contains spaces or control characters"
	}
	return ""
}

func (c *Config) credentials() (string, quaymirror.Secret, error) {
	user, pass := strings.TrimSpace(c.QuayUsername), c.QuayPassword
	if c.QuayCredentialsDir != "" {
		if user != "" || pass != "" {
			return "", "", invalid("QUAY_CREDENTIALS_DIR", "set either QUAY_USERNAME/QUAY_PASSWORD or QUAY_CREDENTIALS_DIR, not both")
		}
		if st, err := os.Stat(c.QuayCredentialsDir); err != nil || !st.IsDir() {
			return "", "", invalid("QUAY_CREDENTIALS_DIR", "%s is not a readable directory", c.QuayCredentialsDir)
		}
		u, err := readSmallFile(filepath.Join(c.QuayCredentialsDir, "quay_username"))
		if err != nil {
			return "", "", invalid("QUAY_CREDENTIALS_DIR", "cannot read quay_username: %s", cleanFileError(err))
		}
		p, err := readSmallFile(filepath.Join(c.QuayCredentialsDir, "quay_password"))
		if err != nil {
			return "", "", invalid("QUAY_CREDENTIALS_DIR", "cannot read quay_password: %s", cleanFileError(err))
		}
		user, pass = strings.TrimSpace(string(u)), quaymirror.Secret(strings.TrimSpace(string(p)))
		if user == "" || pass == "" {
			return "", "", invalid("QUAY_CREDENTIALS_DIR", "quay_username and quay_password must both be non-empty")
		}
	}
	if pass != "" && user == "" {
		return "", "", invalid("QUAY_USERNAME", "is required when QUAY_PASSWORD is set")
	}
	return user, pass, nil
}

func readSmallFile(path string) ([]byte, error) {
	f, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxSecretFile {
		return nil, fmt.Errorf("larger than %d bytes", maxSecretFile)
	}
	return b, nil
}

// cleanFileError keeps the reason of a file error without its contents.
// readFile reads a regular file whole.
func readFile(path string) ([]byte, error) {
	f, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

func cleanFileError(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// errNotRegular refuses what is not a plain file: opening a FIFO would
// wait for a writer forever, and a device could be read without end.
var errNotRegular = errors.New("not a regular file")

// openRegular opens path for reading when it is a regular file, following
// symbolic links as a mounted Secret or ConfigMap needs. The file is
// opened without blocking, so a FIFO put there between the check and the
// open does not hang the run either.
func openRegular(path string) (*os.File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, &os.PathError{Op: "open", Path: path, Err: errNotRegular}
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	if st, err = f.Stat(); err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, &os.PathError{Op: "open", Path: path, Err: errNotRegular}
	}
	return f, nil
}

func readCABundle(path string) ([]byte, error) {
	b, err := readFile(path)
	if err != nil {
		return nil, invalid("CA_BUNDLE", "cannot read %s: %s", path, cleanFileError(err))
	}
	if !x509.NewCertPool().AppendCertsFromPEM(b) {
		return nil, invalid("CA_BUNDLE", "%s holds no PEM certificate", path)
	}
	return b, nil
}
