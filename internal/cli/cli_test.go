package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quaymirror/quaymirror/internal/demo"
	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/fake"
	"github.com/quaymirror/quaymirror/registry/quay/quaytest"
)

type result struct {
	code           int
	stdout, stderr string
}

func run(t *testing.T, environ []string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Run(context.Background(), args, environ, &out, &errOut)
	return result{code, out.String(), errOut.String()}
}

func startDemo(t *testing.T, orgs ...demo.Org) *demo.Env {
	t.Helper()
	if len(orgs) == 0 {
		orgs = demo.DefaultOrgs()
	}
	env, err := demo.Start(demo.Options{Orgs: orgs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	return env
}

// jsonRun is the documented JSON report of sync and plan.
type jsonRun struct {
	DryRun        bool `json:"dry_run"`
	Organizations []struct {
		Organization            string `json:"organization"`
		DestinationOrganization string `json:"destination_organization"`
		Created                 *int   `json:"created"`
		Configured              *int   `json:"configured"`
		Updated                 *int   `json:"updated"`
		Unchanged               *int   `json:"unchanged"`
		Skipped                 *int   `json:"skipped"`
		Orphaned                *int   `json:"orphaned"`
		Failed                  *int   `json:"failed"`
		Repositories            []struct {
			Name    string   `json:"name"`
			Action  string   `json:"action"`
			Reason  string   `json:"reason"`
			Changes []string `json:"changes"`
			Error   string   `json:"error"`
		} `json:"repositories"`
	} `json:"organizations"`
}

func decodeRun(t *testing.T, s string) jsonRun {
	t.Helper()
	var r jsonRun
	dec := json.NewDecoder(strings.NewReader(s))
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, s)
	}
	if dec.More() {
		t.Fatalf("stdout holds more than one JSON document:\n%s", s)
	}
	for _, o := range r.Organizations {
		if o.Created == nil || o.Configured == nil || o.Updated == nil || o.Unchanged == nil || o.Skipped == nil || o.Orphaned == nil || o.Failed == nil {
			t.Fatalf("organization %s lacks a count: %s", o.Organization, s)
		}
	}
	return r
}

func TestPlanSyncCheckStatusOverTheEmulator(t *testing.T) {
	t.Parallel()
	d := startDemo(t)
	env := d.Environ()

	// check: everything in place.
	r := run(t, env, "check")
	if r.code != ExitOK || !strings.Contains(r.stdout, "✓ robot") || strings.Contains(r.stdout, "✗") {
		t.Fatalf("check = %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// plan, JSON: nothing written, every repository has an action.
	r = run(t, env, "plan", "--output", "json")
	if r.code != ExitOK {
		t.Fatalf("plan = %d: %s", r.code, r.stderr)
	}
	plan := decodeRun(t, r.stdout)
	if !plan.DryRun || len(plan.Organizations) != 2 || *plan.Organizations[0].Created != 4 || *plan.Organizations[1].Skipped != 1 {
		t.Errorf("plan = %+v", plan)
	}
	if w := d.Destination.Emulator.Writes(); w != 0 {
		t.Fatalf("plan wrote %d times", w)
	}

	// sync, text.
	r = run(t, env, "sync")
	if r.code != ExitOK || !strings.Contains(r.stdout, "4 created") || !strings.Contains(r.stdout, "rhel9/postgresql-15  skip") {
		t.Fatalf("sync = %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, org := range d.Orgs {
		for _, src := range d.Source.Fake.Repositories(org) {
			m, ok := d.Destination.Fake.Mirror(org, src.Name)
			if src.Name == "rhel9/postgresql-15" {
				if ok {
					t.Error("the repository holding a hand-pushed tag became a mirror")
				}
				continue
			}
			if !ok || m.Config.ExternalReference != strings.TrimPrefix(d.Source.URL, "http://")+"/"+org+"/"+src.Name ||
				m.Config.Robot != org+"+mirror" || m.Config.Username != demo.PullUsername || m.Config.Password.Reveal() != demo.PullPassword {
				t.Errorf("%s/%s mirror = %+v (%v)", org, src.Name, m.Config, ok)
			}
		}
	}

	// sync again: zero writes, all unchanged.
	d.Destination.Emulator.ResetCounters()
	r = run(t, env, "sync", "-o", "json")
	again := decodeRun(t, r.stdout)
	if r.code != ExitOK || d.Destination.Emulator.Writes() != 0 || *again.Organizations[0].Unchanged != 4 || again.DryRun {
		t.Errorf("second sync = %d, %d writes: %s", r.code, d.Destination.Emulator.Writes(), r.stdout)
	}

	// status compares with the source when it is configured: the
	// mirrors are healthy (new ones wait for their first sync), but the
	// repository holding a hand-pushed tag is not mirrored, and one added
	// at the source since the sync is missing.
	must(t, d.Source.Fake.AddRepository(quaymirror.Repository{Namespace: "internal-docker-io", Name: "added/since"}))
	type statusJSON struct {
		Healthy       bool                 `json:"healthy"`
		Organizations []*quaymirror.Health `json:"organizations"`
	}
	var status statusJSON
	r = run(t, env, "status", "--output", "json")
	if err := json.Unmarshal([]byte(r.stdout), &status); err != nil || r.code != ExitFailed || status.Healthy {
		t.Fatalf("status = %d %v: %s", r.code, err, r.stdout)
	}
	docker, redhat := status.Organizations[0], status.Organizations[1]
	if docker.Mirrors != 4 || docker.Missing != 1 || docker.NotMirrored != 0 || redhat.NotMirrored != 1 || redhat.Missing != 0 ||
		docker.Failing+docker.Stuck+docker.Unreadable+redhat.Failing+redhat.Stuck+redhat.Unreadable != 0 {
		t.Errorf("status = %s", r.stdout)
	}
	r = run(t, env, "status")
	if r.code != ExitFailed || !strings.Contains(r.stdout, "1 missing, 0 not mirrored") || !strings.Contains(r.stdout, "added/since") ||
		!strings.Contains(r.stdout, "0 missing, 1 not mirrored") {
		t.Errorf("status text = %d\n%s", r.code, r.stdout)
	}
	// Without a source configured, status reads the destination alone.
	d.Source.Emulator.ResetCounters()
	r = run(t, d.Environ("SOURCE_REGISTRY=", "SOURCE_TOKEN="), "status", "--output", "json")
	status = statusJSON{}
	if err := json.Unmarshal([]byte(r.stdout), &status); err != nil || r.code != ExitOK || !status.Healthy || status.Organizations[0].Missing != 0 {
		t.Errorf("status without a source = %d %v: %s%s", r.code, err, r.stdout, r.stderr)
	}
	if n := d.Source.Emulator.Requests(); len(n) != 0 {
		t.Errorf("status without a source configured asked the source: %v", n)
	}
}

func TestStatusReportsFailingAndStuckMirrors(t *testing.T) {
	t.Parallel()
	d := startDemo(t)
	env := d.Environ("ORGANIZATIONS=internal-docker-io")
	if r := run(t, env, "sync"); r.code != ExitOK {
		t.Fatal(r.stderr)
	}
	const org = "internal-docker-io"
	must(t, d.Destination.Fake.SetMirrorStatus(org, "bitnami/kafka", quaymirror.MirrorStatus{SyncStatus: quaymirror.SyncFail}))
	must(t, d.Destination.Fake.AddSyncLog(org, "bitnami/kafka", quaymirror.SyncLog{Kind: quaymirror.LogSyncFailed, Time: time.Now(), Message: "manifest unknown"}))
	r := run(t, env, "status")
	if r.code != ExitFailed || !strings.Contains(r.stdout, "manifest unknown") || !strings.Contains(r.stdout, "1 failing") {
		t.Errorf("status = %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	before := d.Destination.Emulator.Writes()
	run(t, env, "status")
	if d.Destination.Emulator.Writes() != before {
		t.Error("status without --heal wrote")
	}
}

func TestPreflightFailureWritesNothingAndExits3(t *testing.T) {
	t.Parallel()
	d := startDemo(t)
	// One organization's robot is missing at the destination.
	env := d.Environ("ROBOT_NAME=absent")
	for _, cmd := range []string{"check", "sync", "plan"} {
		r := run(t, env, cmd)
		if r.code != ExitPreflight || !strings.Contains(r.stdout, "robot") || !strings.Contains(r.stdout, "fix:") {
			t.Errorf("%s = %d\n%s%s", cmd, r.code, r.stdout, r.stderr)
		}
	}
	if w := d.Destination.Emulator.Writes(); w != 0 {
		t.Errorf("%d writes despite a failed preflight", w)
	}
	// A bad destination token.
	r := run(t, d.Environ("DESTINATION_TOKEN=not-a-token"), "sync", "--output", "json")
	if r.code != ExitPreflight || !strings.Contains(r.stdout, `"preflight_failed": true`) {
		t.Errorf("bad token sync = %d\n%s", r.code, r.stdout)
	}
}

func TestOneFailingRepositoryExits1AndTheOthersConverge(t *testing.T) {
	t.Parallel()
	d := startDemo(t)
	env := d.Environ("ORGANIZATIONS=internal-docker-io")
	// Every mirror creation of one repository is refused.
	d.Destination.Fake.FailOn(fake.OpCreateMirror, "internal-docker-io", "library/redis", fmt.Errorf("refused: %w", quaymirror.ErrInvalid))
	r := run(t, env, "sync", "--output", "json")
	rep := decodeRun(t, r.stdout)
	if r.code != ExitFailed || *rep.Organizations[0].Failed != 1 || *rep.Organizations[0].Created != 3 {
		t.Fatalf("sync = %d: %s", r.code, r.stdout)
	}
	for _, repo := range rep.Organizations[0].Repositories {
		if (repo.Name == "library/redis") != (repo.Error != "") {
			t.Errorf("%s error = %q", repo.Name, repo.Error)
		}
	}
	d.Destination.Fake.ClearFailures()
	if r := run(t, env, "sync"); r.code != ExitOK || !strings.Contains(r.stdout, "1 configured") {
		t.Errorf("next sync = %d\n%s", r.code, r.stdout)
	}
}

func TestInvalidConfigurationExits2BeforeAnyRequest(t *testing.T) {
	t.Parallel()
	d := startDemo(t)
	dir := t.TempDir()
	emptyTokens := filepath.Join(dir, "tokens")
	must(t, os.Mkdir(emptyTokens, 0o700))
	must(t, os.WriteFile(filepath.Join(emptyTokens, "internal-docker-io"), []byte("  \n"), 0o600))
	cases := []struct {
		setting string
		args    []string
		env     []string
	}{
		{"TAG_GLOB", nil, []string{"TAG_GLOB=*"}},
		{"TAG_GLOB", nil, []string{"TAG_GLOB=[]"}},
		{"TAG_GLOB", nil, []string{`TAG_GLOB=["a,b"]`}},
		{"SYNC_INTERVAL", nil, []string{"SYNC_INTERVAL=59"}},
		{"SYNC_INTERVAL", nil, []string{"SYNC_INTERVAL=soon"}},
		{"SYNC_INTERVAL", []string{"--sync-interval", "30"}, nil},
		{"OUTPUT", []string{"-o", "yaml"}, nil},
		{"ORGANIZATIONS", nil, []string{"ORGANIZATIONS="}},
		{"ORGANIZATIONS", []string{"--org", "Not_Valid"}, nil},
		{"SOURCE_TOKEN", nil, []string{"SOURCE_TOKEN="}},
		{"SOURCE_TOKENS_DIR", nil, []string{"SOURCE_TOKEN=", "SOURCE_TOKENS_DIR=" + filepath.Join(dir, "missing")}},
		{"DESTINATION_TOKENS_DIR", nil, []string{"DESTINATION_TOKEN=", "DESTINATION_TOKENS_DIR=" + emptyTokens}},
		{"SOURCE_REGISTRY", nil, []string{"SOURCE_REGISTRY=ftp://x.example.com"}},
		{"DESTINATION_REGISTRY", nil, []string{"DESTINATION_REGISTRY=http://quay.example.com"}},
		{"CA_BUNDLE", nil, []string{"CA_BUNDLE=" + filepath.Join(dir, "none.pem")}},
		{"ROBOT_NAME", nil, []string{"ROBOT_NAME=Bad Robot"}},
		{"ROBOT_NAME", nil, []string{"ROBOT_NAME=someone-else+mirror"}},
		{"INCLUDE", []string{"--include", "a b"}, nil},
		{"CONCURRENCY", nil, []string{"CONCURRENCY=0"}},
		{"QPS", nil, []string{"QPS=-5"}},
		{"DRY_RUN", nil, []string{"DRY_RUN=perhaps"}},
		{"VISIBILITY", nil, []string{"VISIBILITY=internal"}},
		{"QUAY_USERNAME", nil, []string{"QUAY_USERNAME="}},
		{"SKOPEO_TIMEOUT", nil, []string{"SKOPEO_TIMEOUT=10"}},
		{"ARCHITECTURE_FILTER", nil, []string{"ARCHITECTURE_FILTER=sparc"}},
	}
	for _, tc := range cases {
		for _, cmd := range []string{"sync", "plan", "check"} {
			r := run(t, d.Environ(tc.env...), append([]string{cmd}, tc.args...)...)
			line := strings.TrimSuffix(r.stderr, "\n")
			if r.code != ExitUsage || strings.Contains(line, "\n") || !strings.Contains(line, tc.setting+": ") || r.stdout != "" {
				t.Errorf("%s %v %v: exit %d, stderr %q, stdout %q; want exit 2 and one line naming %s",
					cmd, tc.args, tc.env, r.code, r.stderr, r.stdout, tc.setting)
			}
		}
	}
	if n := len(d.Source.Emulator.Requests()) + len(d.Destination.Emulator.Requests()); n != 0 {
		t.Errorf("requests were sent: %v %v", d.Source.Emulator.Requests(), d.Destination.Emulator.Requests())
	}
}

func TestUsage(t *testing.T) {
	t.Parallel()
	r := run(t, nil)
	if r.code != ExitUsage || !strings.Contains(r.stdout, "Commands:") {
		t.Errorf("no arguments = %d %q", r.code, r.stdout)
	}
	for _, cmd := range []string{"sync", "plan", "status", "check", "demo", "version"} {
		r := run(t, nil, cmd, "--help")
		if r.code != ExitOK || !strings.Contains(r.stdout, "Example") {
			t.Errorf("%s --help = %d\n%s", cmd, r.code, r.stdout)
		}
	}
	r = run(t, nil, "sync", "--help")
	for _, want := range []string{"--tag-glob", "[env TAG_GLOB, default [\"*\"]]", "--org", "--recreate-mirror-config", "--dry-run"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("sync --help lacks %q", want)
		}
	}
	if r := run(t, nil, "frobnicate"); r.code != ExitUsage || !strings.Contains(r.stderr, "unknown command") {
		t.Errorf("unknown command = %d %q", r.code, r.stderr)
	}
	if r := run(t, nil, "sync", "--no-such-flag"); r.code != ExitUsage || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("unknown flag = %d %q", r.code, r.stderr)
	}
	if r := run(t, nil, "version"); r.code != ExitOK || !strings.HasPrefix(r.stdout, "quaymirror ") {
		t.Errorf("version = %d %q", r.code, r.stdout)
	}
}

func TestFlagsOverrideTheEnvironment(t *testing.T) {
	t.Parallel()
	d := startDemo(t)
	env := d.Environ("ORGANIZATIONS=internal-registry-redhat-io", "DRY_RUN=true")
	r := run(t, env, "sync", "--org", "internal-docker-io", "--dry-run=false", "--tag-glob", `["v*"]`, "-o", "json")
	rep := decodeRun(t, r.stdout)
	if r.code != ExitOK || rep.DryRun || len(rep.Organizations) != 1 || rep.Organizations[0].Organization != "internal-docker-io" {
		t.Fatalf("sync = %d: %s", r.code, r.stdout)
	}
	if m, _ := d.Destination.Fake.Mirror("internal-docker-io", "library/nginx"); !slices.Equal(m.Config.TagGlobs, []string{"v*"}) {
		t.Errorf("tag globs = %v, want the flag's", m.Config.TagGlobs)
	}
}

func TestDemo(t *testing.T) {
	t.Parallel()
	r := run(t, nil, "demo")
	if r.code != ExitOK {
		t.Fatalf("demo = %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"$ quaymirror check", "$ quaymirror plan", "$ quaymirror sync", "$ quaymirror status", "healed",
		"$ quaymirror verify", "recovery point 2h00m", "missing: v1.1.0", "pending: v1.0.1",
		"SOURCE_TYPE=oci", "first page lists 3 repositories", "3 created", "3 unchanged", "each second sync sent none"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
}

func TestSecretsNeverReachTheOutput(t *testing.T) {
	t.Parallel()
	d := startDemo(t)
	// Faults make the client retry and log; DEBUG logs everything.
	if err := d.Destination.Emulator.SetFaults(quaytest.Faults{Seed: 7, ErrorRate: 0.1, RateLimitRate: 0.05}); err != nil {
		t.Fatal(err)
	}
	env := d.Environ("DEBUG=true", "RECREATE_MIRROR_CONFIG=true")
	var all strings.Builder
	for _, args := range [][]string{{"check"}, {"plan"}, {"sync"}, {"sync", "-o", "json"}, {"status"}, {"status", "-o", "json", "--heal"}, {"plan", "-o", "json"}} {
		r := run(t, env, args...)
		all.WriteString(r.stdout + r.stderr)
	}
	// A failing token too: errors about it must not echo it.
	r := run(t, d.Environ("DEBUG=true", "SOURCE_TOKEN=wrong-source-token-value"), "sync")
	all.WriteString(r.stdout + r.stderr)
	out := all.String()
	if !strings.Contains(out, `"@level":"debug"`) {
		t.Fatal("no debug log was written: the test would prove nothing")
	}
	for _, secret := range []string{demo.SourceToken, demo.DestinationToken, demo.PullPassword, "wrong-source-token-value"} {
		if strings.Contains(out, secret) {
			i := strings.Index(out, secret)
			t.Errorf("secret %q appears: ...%s...", secret, out[max(0, i-200):i+len(secret)])
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestServe(t *testing.T) {
	// Not parallel: func-go reads LISTEN_ADDRESS from the process.
	t.Setenv("LISTEN_ADDRESS", "127.0.0.1:0")
	d := startDemo(t)
	if r := run(t, d.Environ("SYNC_INTERVAL=1"), "serve"); r.code != ExitUsage || !strings.Contains(r.stderr, "SYNC_INTERVAL: ") {
		t.Errorf("serve with a bad setting = %d %q, want exit 2 naming it", r.code, r.stderr)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var out, errOut bytes.Buffer
	go func() { done <- Run(ctx, []string{"serve", "--org", "internal-docker-io"}, d.Environ(), &out, &errOut) }()
	select {
	case code := <-done:
		t.Fatalf("serve ended early with %d: %s", code, errOut.String())
	case <-time.After(300 * time.Millisecond):
	}
	cancel()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Errorf("serve after cancel = %d: %s", code, errOut.String())
		}
	case <-time.After(40 * time.Second):
		t.Fatal("serve did not stop after its context was cancelled")
	}
}

// One organization with an expired destination token does not stop the
// other: the good one converges, the bad one is reported with its fix and
// nothing is written to it, and the exit code is 3.
func TestOneOrganizationsBadTokenLeavesTheOtherConverging(t *testing.T) {
	t.Parallel()
	d := startDemo(t)
	const good, bad = "internal-docker-io", "internal-registry-redhat-io"
	tokens := t.TempDir()
	must(t, os.WriteFile(filepath.Join(tokens, good), []byte(demo.DestinationToken+"\n"), 0o600))
	must(t, os.WriteFile(filepath.Join(tokens, bad), []byte("expired-token-0000\n"), 0o600))
	env := d.Environ("DESTINATION_TOKEN=", "DESTINATION_TOKENS_DIR="+tokens)

	r := run(t, env, "sync", "-o", "json")
	if r.code != ExitPreflight {
		t.Fatalf("sync = %d, want 3\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	var rep struct {
		Outcome         string `json:"outcome"`
		PreflightFailed bool   `json:"preflight_failed"`
		Organizations   []struct {
			Organization string `json:"organization"`
			Outcome      string `json:"outcome"`
			Created      int    `json:"created"`
			Error        string `json:"error"`
			Preflight    []quaymirror.Check
		} `json:"organizations"`
	}
	must(t, json.Unmarshal([]byte(r.stdout), &rep))
	if rep.Outcome != "preflight_failed" || !rep.PreflightFailed || len(rep.Organizations) != 2 {
		t.Fatalf("report: %s", r.stdout)
	}
	if g := rep.Organizations[0]; g.Organization != good || g.Outcome != "ok" || g.Created != 4 || g.Error != "" {
		t.Errorf("good organization: %+v", g)
	}
	b := rep.Organizations[1]
	failed := quaymirror.Checklist(b.Preflight).Failed()
	if b.Organization != bad || b.Outcome != "preflight_failed" || len(failed) != 1 || failed[0].Name != "destination credentials" || failed[0].Fix == "" {
		t.Errorf("bad organization: %+v", b)
	}
	for _, src := range d.Source.Fake.Repositories(good) {
		if _, ok := d.Destination.Fake.Mirror(good, src.Name); !ok {
			t.Errorf("%s/%s was not mirrored", good, src.Name)
		}
	}
	if n := len(d.Destination.Fake.Repositories(bad)); n != 1 { // the one seeded by the demo
		t.Errorf("%d repositories at the bad organization's destination", n)
	}

	// The text report names the failure, its fix and the converged one.
	r = run(t, env, "sync")
	if r.code != ExitPreflight || !strings.Contains(r.stdout, "4 unchanged") || !strings.Contains(r.stdout, "✗ destination credentials: ") ||
		!strings.Contains(r.stdout, "      fix: ") ||
		!strings.Contains(r.stdout, "preflight failed for "+bad) {
		t.Errorf("text sync = %d\n%s", r.code, r.stdout)
	}
	// check says the same.
	if r := run(t, env, "check"); r.code != ExitPreflight || strings.Count(r.stdout, "✗") != 1 {
		t.Errorf("check = %d\n%s", r.code, r.stdout)
	}
}
