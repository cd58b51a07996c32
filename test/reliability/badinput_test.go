package reliability

import (
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quaymirror/quaymirror/internal/demo"
)

// badSecret is planted in settings that must not be echoed.
const badSecret = "B4D-S3CRET"

// Every invalid configuration is refused by the real binary before any
// request, with exit code 2, nothing on stdout and one line on stderr
// that names the setting and shows no credential. The table covers what
// internal/cli and internal/config test in process, and what they do
// not: token directories that are files, lack the organisation's file,
// hold an empty, oversized or unreadable token; CA bundles that are
// missing, directories, not PEM or PEM without a valid certificate;
// registry URLs with credentials, queries or paths; and so on.
func TestInvalidConfigurationsAreRefusedBeforeAnyRequest(t *testing.T) {
	t.Parallel()
	d := startDemo(t, demo.Options{Orgs: []demo.Org{oneOrg("valid", 2)}})
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		path := filepath.Join(dir, name)
		must(t, os.MkdirAll(filepath.Dir(path), 0o700))
		must(t, os.WriteFile(path, []byte(content), mode))
		return path
	}
	aFile := write("a-file", "", 0o600)
	emptyTokens := filepath.Dir(write("empty-tokens/valid", " \n", 0o600))
	otherTokens := filepath.Dir(write("other-tokens/some-other-org", "token", 0o600))
	hugeTokens := filepath.Dir(write("huge-tokens/valid", strings.Repeat("x", 64<<10), 0o600))
	spacedTokens := filepath.Dir(write("spaced-tokens/valid", "two words "+badSecret, 0o600))
	// A directory where the token file should be cannot be read, by root
	// too (CI runs as root, to whom file permissions do not apply).
	unreadableTokens := filepath.Join(dir, "unreadable-tokens")
	must(t, os.MkdirAll(filepath.Join(unreadableTokens, "valid"), 0o700))
	unreadableCreds := filepath.Dir(write("unreadable-creds/quay_username", "svc", 0o600))
	must(t, os.Mkdir(filepath.Join(unreadableCreds, "quay_password"), 0o700))
	notPEM := write("not.pem", "this is not a certificate", 0o600)
	badCert := write("bad-cert.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not DER at all")})), 0o600)
	halfCreds := filepath.Dir(write("half-creds/quay_username", "svc", 0o600))

	cases := []struct {
		setting string
		env     []string
		args    []string
		want    string // in the message, when set
	}{
		{setting: "TAG_GLOB", env: []string{`TAG_GLOB=[""]`}},
		{setting: "TAG_GLOB", env: []string{"TAG_GLOB=v*"}},
		{setting: "TAG_GLOB", env: []string{"TAG_GLOB=[]"}},
		{setting: "TAG_GLOB", env: []string{`TAG_GLOB=["v*", 5]`}},
		{setting: "TAG_GLOB", env: []string{`TAG_GLOB=["v 1"]`}},
		{setting: "TAG_GLOB", env: []string{`TAG_GLOB=["v1,v2"]`}},
		{setting: "SYNC_INTERVAL", env: []string{"SYNC_INTERVAL=59"}},
		{setting: "SYNC_INTERVAL", env: []string{"SYNC_INTERVAL=ten"}},
		{setting: "SYNC_INTERVAL", env: []string{"SYNC_INTERVAL=1.5"}},
		{setting: "OUTPUT", env: []string{"OUTPUT=yaml"}},
		{setting: "OUTPUT", args: []string{"--output", "xml"}},
		{setting: "ORGANIZATIONS", env: []string{"ORGANIZATIONS="}},
		{setting: "ORGANIZATIONS", env: []string{"ORGANIZATIONS=Bad_Org"}},
		{setting: "ORGANIZATIONS", env: []string{"ORGANIZATIONS=valid:Not/Valid"}},
		{setting: "SOURCE_TOKEN", env: []string{"SOURCE_TOKEN="}},
		{setting: "SOURCE_TOKEN", env: []string{"SOURCE_TOKEN=two words " + badSecret}},
		{setting: "SOURCE_TOKEN", env: []string{"SOURCE_TOKENS_DIR=" + otherTokens}},
		{setting: "SOURCE_TOKENS_DIR", env: []string{"SOURCE_TOKEN=", "SOURCE_TOKENS_DIR=" + aFile}},
		{setting: "SOURCE_TOKENS_DIR", env: []string{"SOURCE_TOKEN=", "SOURCE_TOKENS_DIR=" + filepath.Join(dir, "missing")}},
		{setting: "DESTINATION_TOKENS_DIR", env: []string{"DESTINATION_TOKEN=", "DESTINATION_TOKENS_DIR=" + otherTokens}},
		{setting: "DESTINATION_TOKENS_DIR", env: []string{"DESTINATION_TOKEN=", "DESTINATION_TOKENS_DIR=" + emptyTokens}},
		{setting: "DESTINATION_TOKENS_DIR", env: []string{"DESTINATION_TOKEN=", "DESTINATION_TOKENS_DIR=" + hugeTokens}},
		{setting: "DESTINATION_TOKENS_DIR", env: []string{"DESTINATION_TOKEN=", "DESTINATION_TOKENS_DIR=" + spacedTokens}},
		{setting: "DESTINATION_TOKENS_DIR", env: []string{"DESTINATION_TOKEN=", "DESTINATION_TOKENS_DIR=" + unreadableTokens},
			want: "cannot read the token of valid"},
		{setting: "SOURCE_REGISTRY", env: []string{"SOURCE_REGISTRY=ftp://quay.example.com"}},
		{setting: "SOURCE_REGISTRY", env: []string{"SOURCE_REGISTRY=https://mirror:" + badSecret + "@quay.example.com"}},
		{setting: "SOURCE_REGISTRY", env: []string{"SOURCE_REGISTRY=https://mirror:" + badSecret + "@quay example.com"}},
		{setting: "SOURCE_REGISTRY", env: []string{"SOURCE_REGISTRY=quay.example.com/?access_token=" + badSecret}},
		{setting: "SOURCE_REGISTRY", env: []string{"SOURCE_REGISTRY="}},
		{setting: "DESTINATION_REGISTRY", env: []string{"DESTINATION_REGISTRY=http://quay.example.com"}},
		{setting: "DESTINATION_REGISTRY", env: []string{"DESTINATION_REGISTRY=https://quay.example.com/api/v1"}},
		{setting: "CA_BUNDLE", env: []string{"CA_BUNDLE=" + filepath.Join(dir, "missing.pem")}},
		{setting: "CA_BUNDLE", env: []string{"CA_BUNDLE=" + dir}},
		{setting: "CA_BUNDLE", env: []string{"CA_BUNDLE=" + notPEM}},
		{setting: "CA_BUNDLE", env: []string{"CA_BUNDLE=" + badCert}},
		{setting: "ROBOT_NAME", env: []string{"ROBOT_NAME=Bad Robot"}},
		{setting: "ROBOT_NAME", env: []string{"ROBOT_NAME=other-org+mirror"}},
		{setting: "ROBOT_NAME", env: []string{"ROBOT_NAME=valid+"}},
		{setting: "INCLUDE", env: []string{"INCLUDE=app,,db"}},
		{setting: "EXCLUDE", env: []string{"EXCLUDE=a b"}},
		{setting: "CONCURRENCY", env: []string{"CONCURRENCY=0"}},
		{setting: "CONCURRENCY", env: []string{"CONCURRENCY=100000"}},
		{setting: "QPS", env: []string{"QPS=-5"}},
		{setting: "QPS", env: []string{"QPS=fast"}},
		{setting: "BURST", env: []string{"QPS=5", "BURST=0"}},
		{setting: "REQUEST_TIMEOUT", env: []string{"REQUEST_TIMEOUT=1ms"}},
		{setting: "TIMEOUT", env: []string{"TIMEOUT=-1m"}},
		{setting: "QUAY_USERNAME", env: []string{"QUAY_USERNAME="}},
		{setting: "QUAY_CREDENTIALS_DIR", env: []string{"QUAY_USERNAME=", "QUAY_PASSWORD=", "QUAY_CREDENTIALS_DIR=" + halfCreds}},
		{setting: "QUAY_CREDENTIALS_DIR", env: []string{"QUAY_USERNAME=", "QUAY_PASSWORD=", "QUAY_CREDENTIALS_DIR=" + unreadableCreds},
			want: "cannot read quay_password"},
		{setting: "SKOPEO_TIMEOUT", env: []string{"SKOPEO_TIMEOUT=299"}},
		{setting: "ARCHITECTURE_FILTER", env: []string{"ARCHITECTURE_FILTER=sparc"}},
		{setting: "VISIBILITY", env: []string{"VISIBILITY=internal"}},
		{setting: "ADOPT_EXISTING", env: []string{"ADOPT_EXISTING=perhaps"}},
		{setting: "SOURCE_REFERENCE_HOST", env: []string{"SOURCE_REFERENCE_HOST=https://quay.example.com"}},
	}
	for _, tc := range cases {
		// Every command that reads the configuration: sync, plan and
		// check refuse it alike (status needs less of it).
		for _, cmd := range []string{"sync", "plan", "check"} {
			r := runBinary(t, d.Environ(tc.env...), append([]string{cmd}, tc.args...)...)
			line := strings.TrimSuffix(r.stderr, "\n")
			if r.code != 2 || r.stdout != "" || line == "" || strings.Contains(line, "\n") || !strings.Contains(line, " "+tc.setting+": ") {
				t.Errorf("%s %v %v: want exit 2, nothing on stdout, one line naming %s:\n%s", cmd, tc.env, tc.args, tc.setting, r)
			}
			if !strings.Contains(line, tc.want) {
				t.Errorf("%s %v: the message does not say %q: %s", cmd, tc.env, tc.want, line)
			}
			if strings.Contains(line, badSecret) {
				t.Errorf("%s %v: the message shows the credential: %s", cmd, tc.env, line)
			}
		}
	}
	for _, reg := range []*demo.Registry{d.Source, d.Destination} {
		if n := reg.Emulator.Reads() + reg.Emulator.Writes(); n != 0 {
			t.Errorf("%d requests reached %s: %v", n, reg.URL, reg.Emulator.Requests())
		}
	}
}
