package config

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"maps"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/fake"
)

const (
	srcToken = "src-token-AAAA"
	dstToken = "dst-token-BBBB"
	password = "pull-password-CCCC"
)

func validEnv() map[string]string {
	return map[string]string{
		"SOURCE_REGISTRY":      "quay.src.example.com",
		"DESTINATION_REGISTRY": "https://quay.dst.example.com:8443",
		"ORGANIZATIONS":        "internal-docker-io,internal-acic-images:acic-mirror",
		"ROBOT_NAME":           "mirror",
		"SOURCE_TOKEN":         srcToken,
		"DESTINATION_TOKEN":    dstToken,
		"QUAY_USERNAME":        "svc-pull",
		"QUAY_PASSWORD":        password,
	}
}

func load(t *testing.T, env map[string]string, need Need) (*Resolved, error) {
	t.Helper()
	c, err := Parse(context.Background(), envconfig.MapLookuper(env))
	if err != nil {
		return nil, err
	}
	return Resolve(c, need)
}

func TestDefaultsAndPolicy(t *testing.T) {
	t.Parallel()
	r, err := load(t, validEnv(), NeedSync)
	if err != nil {
		t.Fatal(err)
	}
	if r.Source.String() != "https://quay.src.example.com" || r.Destination.String() != "https://quay.dst.example.com:8443" {
		t.Errorf("registries = %s, %s", r.Source, r.Destination)
	}
	if len(r.Orgs) != 2 || r.Orgs[1].Destination != "acic-mirror" || r.Orgs[1].Robot != "acic-mirror+mirror" {
		t.Fatalf("orgs = %+v", r.Orgs)
	}
	p := r.Policy(r.Orgs[0])
	want := quaymirror.Policy{
		SourceRegistry: "quay.src.example.com", SourceNamespace: "internal-docker-io", DestinationNamespace: "internal-docker-io",
		TagGlobs: []string{"*"}, SyncInterval: 600 * time.Second, Robot: "internal-docker-io+mirror",
		Username: "svc-pull", Password: password, Visibility: quaymirror.VisibilityPrivate,
	}
	if p.SourceRegistry != want.SourceRegistry || p.SourceNamespace != want.SourceNamespace || p.DestinationNamespace != want.DestinationNamespace ||
		!slices.Equal(p.TagGlobs, want.TagGlobs) || p.SyncInterval != want.SyncInterval || p.Robot != want.Robot ||
		p.Username != want.Username || p.Password != want.Password || p.Visibility != want.Visibility ||
		p.SkipTLSVerify || p.SkipSyncNow || p.Recreate || p.AdoptExisting || p.DisableOrphans {
		t.Errorf("policy = %+v\nwant %+v", p, want)
	}
	if r.Orgs[0].SourceToken.Reveal() != srcToken || r.Orgs[0].DestinationToken.Reveal() != dstToken {
		t.Error("tokens not resolved")
	}
	if r.Output != OutputText || r.QPS != 25 || r.Burst != 25 || r.Concurrency != 8 || time.Duration(r.RequestTimeout) != 30*time.Second ||
		r.TickPeriod != 3600 || r.FullCheckEvery != 0 {
		t.Errorf("defaults = output %s qps %v burst %v concurrency %v timeout %v", r.Output, r.QPS, r.Burst, r.Concurrency, r.RequestTimeout)
	}
}

func TestEveryVariableIsParsed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := writeCA(t, dir)
	env := validEnv()
	for k, v := range map[string]string{
		"SOURCE_REFERENCE_HOST": "quay-internal.src:5000", "TAG_GLOB": `["v*","latest"]`, "SYNC_INTERVAL": "3600",
		"RECREATE_MIRROR_CONFIG": "true", "MIRROR_VERIFY_TLS": "false", "UNSIGNED_IMAGES": "yes",
		"MIRROR_HTTP_PROXY": "http://proxy:3128", "MIRROR_HTTPS_PROXY": "http://proxy:3129", "MIRROR_NO_PROXY": ".corp",
		"SKOPEO_TIMEOUT": "900", "ARCHITECTURE_FILTER": "amd64, arm64", "DRY_RUN": "1", "INCLUDE": "team-*,base",
		"EXCLUDE": "*-tmp", "VISIBILITY": "source", "ADOPT_EXISTING": "on", "SYNC_NOW": "false", "DISABLE_ORPHANS": "TRUE",
		"QPS": "2.5", "BURST": "4", "CONCURRENCY": "16", "CA_BUNDLE": ca, "REQUEST_TIMEOUT": "45s", "TIMEOUT": "540",
		"OUTPUT": "JSON", "DEBUG": "true", "TICK_PERIOD": "900", "FULL_CHECK_EVERY": "24", "PROGRESS_INTERVAL": "30s",
		"METRICS_PUSHGATEWAY": "http://pgw:9091", "K_SINK": "http://sink/x", "VERIFY_GRACE": "5400",
	} {
		env[k] = v
	}
	r, err := load(t, env, NeedSync)
	if err != nil {
		t.Fatal(err)
	}
	p := r.Policy(r.Orgs[0])
	if p.SourceRegistry != "quay-internal.src:5000" || !slices.Equal(p.TagGlobs, []string{"v*", "latest"}) || p.SyncInterval != time.Hour ||
		!p.Recreate || !p.SkipTLSVerify || !p.UnsignedImages || p.Proxy != (quaymirror.Proxy{HTTPProxy: "http://proxy:3128", HTTPSProxy: "http://proxy:3129", NoProxy: ".corp"}) ||
		p.SkopeoTimeout != 900*time.Second || !slices.Equal(p.ArchitectureFilter, []string{"amd64", "arm64"}) ||
		!slices.Equal(p.Include, []string{"team-*", "base"}) || !slices.Equal(p.Exclude, []string{"*-tmp"}) ||
		p.Visibility != quaymirror.VisibilitySource || !p.AdoptExisting || !p.SkipSyncNow || !p.DisableOrphans ||
		p.VerifyGrace != 90*time.Minute {
		t.Errorf("policy = %+v", p)
	}
	if !r.DryRun || r.QPS != 2.5 || r.Burst != 4 || r.Concurrency != 16 || len(r.CABundle) == 0 ||
		time.Duration(r.RequestTimeout) != 45*time.Second || time.Duration(r.Timeout) != 9*time.Minute || r.Output != OutputJSON || !r.Debug ||
		r.TickPeriod != 900 || r.FullCheckEvery != 24 || time.Duration(r.ProgressInterval) != 30*time.Second ||
		r.MetricsPushgateway != "http://pgw:9091" || r.Sink != "http://sink/x" {
		t.Errorf("config = %+v", r.Config)
	}
	// Every setting was exercised by this test or by validEnv (tokens
	// directories and credentials directory have their own tests).
	for _, s := range Settings() {
		switch s.Env {
		case "SOURCE_TOKENS_DIR", "DESTINATION_TOKENS_DIR", "QUAY_CREDENTIALS_DIR", "ALLOW_INSECURE_HTTP",
			"SOURCE_TYPE", "SOURCE_USERNAME", "SOURCE_PASSWORD", "SOURCE_CREDENTIALS_DIR": // TestSourceTypes
			continue
		}
		if _, ok := env[s.Env]; !ok {
			t.Errorf("%s is not covered by this test", s.Env)
		}
	}
}

func TestFlagsOverrideEnvironment(t *testing.T) {
	t.Parallel()
	env := validEnv()
	env["SYNC_INTERVAL"] = "120"
	env["DRY_RUN"] = "true"
	fs := flag.NewFlagSet("sync", flag.ContinueOnError)
	l := Flags(fs, envconfig.MapLookuper(env))
	if err := fs.Parse([]string{"--sync-interval", "900", "--dry-run=false", "--org", "a1", "--org", "b2:c3", "-o", "json", "--debug"}); err != nil {
		t.Fatal(err)
	}
	c, err := Parse(context.Background(), l)
	if err != nil {
		t.Fatal(err)
	}
	if c.SyncInterval != 900 || c.DryRun || c.Output != OutputJSON || !c.Debug {
		t.Errorf("flags did not win: %+v", c)
	}
	if len(c.Organizations) != 2 || c.Organizations[1] != (Org{"b2", "c3"}) {
		t.Errorf("--org repeated = %+v", c.Organizations)
	}
	if c.SourceRegistry != "quay.src.example.com" {
		t.Error("environment lost under flags")
	}
}

func TestTokenAndCredentialDirectories(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src, dst, creds := filepath.Join(dir, "src"), filepath.Join(dir, "dst"), filepath.Join(dir, "creds")
	for _, d := range []string{src, dst, creds} {
		must(t, os.Mkdir(d, 0o700))
	}
	// What a mounted Secret looks like: files, plus trailing newlines.
	must(t, os.WriteFile(filepath.Join(src, "internal-docker-io"), []byte(srcToken+"\n"), 0o600))
	must(t, os.WriteFile(filepath.Join(src, "internal-acic-images"), []byte(srcToken+"-2"), 0o600))
	must(t, os.WriteFile(filepath.Join(dst, "internal-docker-io"), []byte(dstToken), 0o600))
	must(t, os.WriteFile(filepath.Join(dst, "acic-mirror"), []byte(dstToken+"-2\n"), 0o600))
	must(t, os.WriteFile(filepath.Join(creds, "quay_username"), []byte("svc-pull\n"), 0o600))
	must(t, os.WriteFile(filepath.Join(creds, "quay_password"), []byte(password+"\n"), 0o600))
	env := validEnv()
	delete(env, "SOURCE_TOKEN")
	delete(env, "DESTINATION_TOKEN")
	delete(env, "QUAY_USERNAME")
	delete(env, "QUAY_PASSWORD")
	env["SOURCE_TOKENS_DIR"], env["DESTINATION_TOKENS_DIR"], env["QUAY_CREDENTIALS_DIR"] = src, dst, creds
	r, err := load(t, env, NeedSync)
	if err != nil {
		t.Fatal(err)
	}
	if r.Orgs[1].SourceToken.Reveal() != srcToken+"-2" || r.Orgs[1].DestinationToken.Reveal() != dstToken+"-2" {
		t.Error("per-organization tokens not read by organization name (source by source, destination by destination)")
	}
	if r.Username != "svc-pull" || r.Password.Reveal() != password {
		t.Errorf("credentials = %q", r.Username)
	}
}

func TestInvalidConfigurations(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	must(t, os.Mkdir(empty, 0o700))
	must(t, os.WriteFile(filepath.Join(empty, "internal-docker-io"), []byte("\n"), 0o600))
	notPEM := filepath.Join(dir, "ca.pem")
	must(t, os.WriteFile(notPEM, []byte("not a certificate"), 0o600))
	file := filepath.Join(dir, "file")
	must(t, os.WriteFile(file, nil, 0o600))

	cases := []struct {
		setting string
		change  map[string]string
	}{
		{"TAG_GLOB", map[string]string{"TAG_GLOB": `*`}},
		{"TAG_GLOB", map[string]string{"TAG_GLOB": `[]`}},
		{"TAG_GLOB", map[string]string{"TAG_GLOB": `[""]`}},
		{"TAG_GLOB", map[string]string{"TAG_GLOB": `["v1,v2"]`}},
		{"TAG_GLOB", map[string]string{"TAG_GLOB": `{"a":1}`}},
		{"SYNC_INTERVAL", map[string]string{"SYNC_INTERVAL": "59"}},
		{"SYNC_INTERVAL", map[string]string{"SYNC_INTERVAL": "ten"}},
		{"SYNC_INTERVAL", map[string]string{"SYNC_INTERVAL": "-600"}},
		{"SYNC_INTERVAL", map[string]string{"SYNC_INTERVAL": "31622401"}},
		{"OUTPUT", map[string]string{"OUTPUT": "yaml"}},
		{"DRY_RUN", map[string]string{"DRY_RUN": "maybe"}},
		{"SOURCE_REGISTRY", map[string]string{"SOURCE_REGISTRY": ""}},
		{"SOURCE_REGISTRY", map[string]string{"SOURCE_REGISTRY": "ftp://quay.example.com"}},
		{"SOURCE_REGISTRY", map[string]string{"SOURCE_REGISTRY": "https://quay.example.com/api/v1"}},
		{"SOURCE_REGISTRY", map[string]string{"SOURCE_REGISTRY": "https://user:pw@quay.example.com"}},
		{"DESTINATION_REGISTRY", map[string]string{"DESTINATION_REGISTRY": "http://quay.dst.example.com"}},
		{"DESTINATION_REGISTRY", map[string]string{"DESTINATION_REGISTRY": "quay dst"}},
		{"ORGANIZATIONS", map[string]string{"ORGANIZATIONS": ""}},
		{"ORGANIZATIONS", map[string]string{"ORGANIZATIONS": "Bad_Org"}},
		{"ORGANIZATIONS", map[string]string{"ORGANIZATIONS": "a1,,b2"}},
		{"ORGANIZATIONS", map[string]string{"ORGANIZATIONS": "a1,a1:b2"}},
		{"ROBOT_NAME", map[string]string{"ROBOT_NAME": ""}},
		{"ROBOT_NAME", map[string]string{"ROBOT_NAME": "robot-"}},
		{"ROBOT_NAME", map[string]string{"ROBOT_NAME": "other-org+mirror"}},
		{"SOURCE_TOKEN", map[string]string{"SOURCE_TOKEN": ""}},
		{"SOURCE_TOKEN", map[string]string{"SOURCE_TOKEN": "two words"}},
		{"SOURCE_TOKEN", map[string]string{"SOURCE_TOKENS_DIR": dir}},
		{"SOURCE_TOKENS_DIR", map[string]string{"SOURCE_TOKEN": "", "SOURCE_TOKENS_DIR": filepath.Join(dir, "missing")}},
		{"SOURCE_TOKENS_DIR", map[string]string{"SOURCE_TOKEN": "", "SOURCE_TOKENS_DIR": file}},
		{"SOURCE_TOKENS_DIR", map[string]string{"SOURCE_TOKEN": "", "SOURCE_TOKENS_DIR": empty}},
		{"DESTINATION_TOKENS_DIR", map[string]string{"DESTINATION_TOKEN": "", "DESTINATION_TOKENS_DIR": dir}},
		{"QUAY_USERNAME", map[string]string{"QUAY_USERNAME": ""}},
		{"QUAY_CREDENTIALS_DIR", map[string]string{"QUAY_USERNAME": "", "QUAY_PASSWORD": "", "QUAY_CREDENTIALS_DIR": dir}},
		{"QUAY_CREDENTIALS_DIR", map[string]string{"QUAY_CREDENTIALS_DIR": dir}},
		{"CA_BUNDLE", map[string]string{"CA_BUNDLE": notPEM}},
		{"CA_BUNDLE", map[string]string{"CA_BUNDLE": filepath.Join(dir, "nope.pem")}},
		{"CONCURRENCY", map[string]string{"CONCURRENCY": "0"}},
		{"CONCURRENCY", map[string]string{"CONCURRENCY": "many"}},
		{"QPS", map[string]string{"QPS": "-1"}},
		{"QPS", map[string]string{"QPS": "NaN"}},
		{"BURST", map[string]string{"BURST": "0"}},
		{"SKOPEO_TIMEOUT", map[string]string{"SKOPEO_TIMEOUT": "120"}},
		{"SKOPEO_TIMEOUT", map[string]string{"SKOPEO_TIMEOUT": "299"}},
		{"ARCHITECTURE_FILTER", map[string]string{"ARCHITECTURE_FILTER": "x86"}},
		{"INCLUDE", map[string]string{"INCLUDE": "a b"}},
		{"EXCLUDE", map[string]string{"EXCLUDE": "a,,b"}},
		{"VISIBILITY", map[string]string{"VISIBILITY": "internal"}},
		{"REQUEST_TIMEOUT", map[string]string{"REQUEST_TIMEOUT": "10ms"}},
		{"TIMEOUT", map[string]string{"TIMEOUT": "soon"}},
		{"TICK_PERIOD", map[string]string{"TICK_PERIOD": "0"}},
		{"TICK_PERIOD", map[string]string{"TICK_PERIOD": "hourly"}},
		{"FULL_CHECK_EVERY", map[string]string{"FULL_CHECK_EVERY": "-2"}},
		{"SOURCE_REFERENCE_HOST", map[string]string{"SOURCE_REFERENCE_HOST": "https://x"}},
	}
	for _, tc := range cases {
		env := validEnv()
		for k, v := range tc.change {
			env[k] = v
		}
		_, err := load(t, env, NeedSync)
		var ce *Error
		if !errors.As(err, &ce) || ce.Setting != tc.setting || !errors.Is(err, ErrInvalid) {
			t.Errorf("%v: error = %v, want one naming %s", tc.change, err, tc.setting)
			continue
		}
		msg := err.Error()
		if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, tc.setting+": ") {
			t.Errorf("%v: message %q is not one line starting with the setting", tc.change, msg)
		}
		for _, s := range []string{srcToken, dstToken, password} {
			if strings.Contains(msg, s) {
				t.Errorf("%v: message %q shows a secret", tc.change, msg)
			}
		}
	}
}

func TestOnlyWhatACommandNeedsIsRequired(t *testing.T) {
	t.Parallel()
	env := map[string]string{"DESTINATION_REGISTRY": "quay.dst.example.com", "ORGANIZATIONS": "acme", "DESTINATION_TOKEN": dstToken}
	if _, err := load(t, env, NeedStatus); err != nil {
		t.Errorf("status needs only the destination: %v", err)
	}
	if _, err := load(t, env, NeedSync); err == nil {
		t.Error("sync accepted a configuration without source")
	}
	if _, err := load(t, map[string]string{}, 0); err != nil {
		t.Errorf("nothing needed, nothing required: %v", err)
	}
}

func TestInsecureHTTP(t *testing.T) {
	t.Parallel()
	env := validEnv()
	env["SOURCE_REGISTRY"] = "http://127.0.0.1:8080"
	env["DESTINATION_REGISTRY"] = "http://localhost:9090"
	if _, err := load(t, env, NeedSync); err != nil {
		t.Errorf("loopback http refused: %v", err)
	}
	env["DESTINATION_REGISTRY"] = "http://quay.corp:80"
	if _, err := load(t, env, NeedSync); err == nil {
		t.Error("http to a remote host accepted")
	}
	env["ALLOW_INSECURE_HTTP"] = "true"
	if _, err := load(t, env, NeedSync); err != nil {
		t.Errorf("explicitly allowed http refused: %v", err)
	}
}

// The limits of the mirror settings are the SDK's (quaymirror.Policy's
// Validate): the configuration checks them by validating the policy, and
// its help text and default say the same numbers.
func TestPolicyLimitsComeFromTheSDK(t *testing.T) {
	t.Parallel()
	limits := []struct {
		setting      string
		min, example time.Duration
	}{
		{"SYNC_INTERVAL", quaymirror.MinSyncInterval, quaymirror.DefaultSyncInterval},
		{"SKOPEO_TIMEOUT", quaymirror.MinSkopeoTimeout, 0},
	}
	for _, l := range limits {
		min := int(l.min / time.Second)
		var s Setting
		for _, x := range Settings() {
			if x.Env == l.setting {
				s = x
			}
		}
		if want := fmt.Sprintf("at least %d", min); !strings.Contains(s.Help, want) {
			t.Errorf("%s help %q does not say %q", l.setting, s.Help, want)
		}
		if l.example > 0 && s.Default != strconv.Itoa(int(l.example/time.Second)) {
			t.Errorf("%s default %s, the SDK's is %s", l.setting, s.Default, l.example)
		}
		for value, ok := range map[int]bool{min: true, min - 1: false} {
			env := validEnv()
			env[l.setting] = strconv.Itoa(value)
			_, err := load(t, env, NeedSync)
			var ce *Error
			if ok != (err == nil) || (!ok && (!errors.As(err, &ce) || ce.Setting != l.setting)) {
				t.Errorf("%s=%d: error %v", l.setting, value, err)
			}
		}
	}
	// The SDK's zero is its default, and so is the setting's.
	env := validEnv()
	env["SYNC_INTERVAL"] = "0"
	r, err := load(t, env, NeedSync)
	must(t, err)
	if p := r.Policy(r.Orgs[0]); p.Validate() != nil || p.SyncInterval != 0 {
		t.Errorf("SYNC_INTERVAL=0: policy %+v", p)
	}
}

// VERIFY_GRACE left at 0 is the SDK's default, twice SYNC_INTERVAL; a
// value that is not a number of seconds stops the run naming it.
func TestVerifyGrace(t *testing.T) {
	t.Parallel()
	env := validEnv()
	env["SYNC_INTERVAL"] = "900"
	r, err := load(t, env, NeedSync)
	must(t, err)
	e, err := quaymirror.NewEngine(fake.New(), fake.New(), r.Policy(r.Orgs[0]))
	must(t, err)
	if g := e.Policy().VerifyGrace; g != 30*time.Minute {
		t.Errorf("default grace %s", g)
	}
	for _, bad := range []string{"-1", "1h", "soon"} {
		env["VERIFY_GRACE"] = bad
		_, err := load(t, env, NeedSync)
		var ce *Error
		if !errors.As(err, &ce) || ce.Setting != "VERIFY_GRACE" {
			t.Errorf("VERIFY_GRACE=%s: %v", bad, err)
		}
	}
}

var update = flag.Bool("update", false, "rewrite docs/configuration.md from the settings")

const (
	beginGenerated = "<!-- BEGIN GENERATED: internal/config. Edit the help tags, then run `make docs`. -->\n"
	endGenerated   = "<!-- END GENERATED -->"
)

// The configuration reference cannot drift from the code: its tables are
// generated from the settings and this test fails when they differ.
func TestConfigurationDocIsCurrent(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "configuration.md")
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	before, rest, ok1 := strings.Cut(string(doc), beginGenerated)
	_, after, ok2 := strings.Cut(rest, endGenerated)
	if !ok1 || !ok2 {
		t.Fatalf("%s lacks the generated-section markers", path)
	}
	want := before + beginGenerated + Markdown() + "\n" + endGenerated + after
	if *update {
		must(t, os.WriteFile(path, []byte(want), 0o644))
		return
	}
	if string(doc) != want {
		t.Errorf("docs/configuration.md is out of date; regenerate it with `make docs`")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// writeCA writes a fresh self-signed certificate's PEM.
func writeCA(t *testing.T, dir string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must(t, err)
	path := filepath.Join(dir, "ca.crt")
	must(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	return path
}

func TestMetricsAndEventsSettings(t *testing.T) {
	t.Parallel()
	env := validEnv()
	env["METRICS_PUSHGATEWAY"] = "https://pusher:pgw-secret-5a@pgw.example.com:9091/prefix"
	env["K_SINK"] = "http://broker-ingress.knative-eventing.svc.cluster.local/ns/default"
	r, err := load(t, env, NeedSync)
	must(t, err)
	if string(r.MetricsPushgateway) != env["METRICS_PUSHGATEWAY"] || r.MetricsPushgateway.String() != "https://pgw.example.com:9091/prefix" ||
		strings.Contains(fmt.Sprintf("%+v", *r.Config), "pgw-secret-5a") {
		t.Errorf("pushgateway %q / %q", string(r.MetricsPushgateway), r.MetricsPushgateway)
	}
	if string(r.Sink) != env["K_SINK"] {
		t.Errorf("sink %q", r.Sink)
	}
	unset, err := load(t, validEnv(), NeedSync)
	must(t, err)
	if unset.MetricsPushgateway != "" || unset.Sink != "" || unset.MetricsPushgateway.String() != "" {
		t.Error("unset settings are set")
	}

	for name, c := range map[string]struct{ key, value, want string }{
		"no scheme":         {"METRICS_PUSHGATEWAY", "pgw:9091", "METRICS_PUSHGATEWAY: "},
		"push path":         {"METRICS_PUSHGATEWAY", "http://u:pgw-secret-5a@pgw:9091/metrics/job/x", "METRICS_PUSHGATEWAY: http://pgw:9091/metrics/job/x: give the Pushgateway's base URL"},
		"query":             {"METRICS_PUSHGATEWAY", "http://pgw:9091/?pgw-secret-5a", "no query"},
		"password in clear": {"METRICS_PUSHGATEWAY", "http://u:pgw-secret-5a@pgw.example.com:9091", "METRICS_PUSHGATEWAY: http:// to pgw.example.com would send the basic-auth password in clear"},
		"sink scheme":       {"K_SINK", "ftp://u:pgw-secret-5a@sink", "K_SINK: ftp://sink: the scheme must be http or https"},
		"sink host":         {"K_SINK", "http:///path", "K_SINK: http:///path has no host"},
	} {
		env := validEnv()
		env[c.key] = c.value
		_, err := load(t, env, NeedSync)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "pgw-secret-5a") ||
			strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Over loopback, or when allowed, the password may travel in clear.
	for _, extra := range []map[string]string{
		{"METRICS_PUSHGATEWAY": "http://u:p@127.0.0.1:9091"},
		{"METRICS_PUSHGATEWAY": "http://u:p@pgw.example.com:9091", "ALLOW_INSECURE_HTTP": "true"},
	} {
		env := validEnv()
		maps.Copy(env, extra)
		if _, err := load(t, env, NeedStatus); err != nil {
			t.Errorf("%v: %v", extra, err)
		}
	}
}

// A harbor or oci source reads with a token, credentials (one pair, or a
// file per organization holding username:password) or anonymously; a
// quay source with a token only. Mixing them is refused before any
// request.
func TestSourceTypes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	creds := filepath.Join(dir, "creds")
	must(t, os.Mkdir(creds, 0o700))
	must(t, os.WriteFile(filepath.Join(creds, "internal-docker-io"), []byte("robot$internal-docker-io+mirror:s3cret:with:colons\n"), 0o600))
	must(t, os.WriteFile(filepath.Join(creds, "internal-acic-images"), []byte("reader:pw2"), 0o600))
	bad := filepath.Join(dir, "bad")
	must(t, os.Mkdir(bad, 0o700))
	must(t, os.WriteFile(filepath.Join(bad, "internal-docker-io"), []byte("no-colon-here"), 0o600))
	base := func(kind string, kv ...string) map[string]string {
		env := validEnv()
		delete(env, "SOURCE_TOKEN")
		env["SOURCE_TYPE"] = kind
		for i := 0; i+1 < len(kv); i += 2 {
			env[kv[i]] = kv[i+1]
		}
		return env
	}

	r, err := load(t, base("HARBOR", "SOURCE_USERNAME", "robot$x+y", "SOURCE_PASSWORD", "secret"), NeedSync)
	must(t, err)
	if r.SourceType != SourceHarbor || r.Orgs[0].SourceUsername != "robot$x+y" || r.Orgs[1].SourcePassword.Reveal() != "secret" || r.Orgs[0].SourceToken != "" {
		t.Errorf("harbor with credentials: %+v", r.Orgs)
	}
	r, err = load(t, base("oci", "SOURCE_CREDENTIALS_DIR", creds), NeedSync)
	must(t, err)
	if r.Orgs[0].SourceUsername != "robot$internal-docker-io+mirror" || r.Orgs[0].SourcePassword.Reveal() != "s3cret:with:colons" ||
		r.Orgs[1].SourceUsername != "reader" || r.Orgs[1].SourcePassword.Reveal() != "pw2" {
		t.Errorf("oci with a credentials directory: %q %q", r.Orgs[0].SourceUsername, r.Orgs[1].SourceUsername)
	}
	r, err = load(t, base("oci", "SOURCE_TOKEN", srcToken), NeedSync)
	must(t, err)
	if r.Orgs[0].SourceToken.Reveal() != srcToken || r.Orgs[0].SourceUsername != "" {
		t.Errorf("oci with a token: %+v", r.Orgs[0])
	}
	r, err = load(t, base("harbor"), NeedSync)
	must(t, err)
	if r.Orgs[0].SourceToken != "" || r.Orgs[0].SourceUsername != "" {
		t.Errorf("harbor without credentials is anonymous: %+v", r.Orgs[0])
	}
	r, err = load(t, validEnv(), NeedSync)
	must(t, err)
	if r.SourceType != SourceQuay {
		t.Errorf("default SOURCE_TYPE = %q, want quay", r.SourceType)
	}

	for _, tc := range []struct {
		env     map[string]string
		setting string
	}{
		{base("gitlab"), "SOURCE_TYPE"},
		{base("quay"), "SOURCE_TOKEN"},
		{base("quay", "SOURCE_TOKEN", srcToken, "SOURCE_USERNAME", "u", "SOURCE_PASSWORD", "p"), "SOURCE_USERNAME"},
		{base("quay", "SOURCE_TOKEN", srcToken, "SOURCE_CREDENTIALS_DIR", creds), "SOURCE_CREDENTIALS_DIR"},
		{base("oci", "SOURCE_TOKEN", srcToken, "SOURCE_USERNAME", "u", "SOURCE_PASSWORD", "p"), "SOURCE_USERNAME"},
		{base("oci", "SOURCE_USERNAME", "u", "SOURCE_CREDENTIALS_DIR", creds), "SOURCE_CREDENTIALS_DIR"},
		{base("oci", "SOURCE_USERNAME", "u"), "SOURCE_PASSWORD"},
		{base("harbor", "SOURCE_PASSWORD", "p"), "SOURCE_USERNAME"},
		{base("harbor", "SOURCE_USERNAME", "a:b", "SOURCE_PASSWORD", "p"), "SOURCE_USERNAME"},
		{base("harbor", "SOURCE_CREDENTIALS_DIR", bad), "SOURCE_CREDENTIALS_DIR"},
		{base("harbor", "SOURCE_CREDENTIALS_DIR", filepath.Join(dir, "missing")), "SOURCE_CREDENTIALS_DIR"},
	} {
		_, err := load(t, tc.env, NeedSync)
		var ce *Error
		if !errors.As(err, &ce) || ce.Setting != tc.setting {
			t.Errorf("SOURCE_TYPE=%s: error %v, want one naming %s", tc.env["SOURCE_TYPE"], err, tc.setting)
			continue
		}
		for _, secret := range []string{"secret", "s3cret", srcToken} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q shows a secret", err)
			}
		}
	}
}
