package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quaymirror/quaymirror/internal/config"
	"github.com/quaymirror/quaymirror/internal/demo"
	"github.com/quaymirror/quaymirror/internal/promtest"
	"github.com/quaymirror/quaymirror/internal/wiring"
	"github.com/quaymirror/quaymirror/metrics"
	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/fake"
	"github.com/quaymirror/quaymirror/runner"
	"github.com/quaymirror/quaymirror/runner/runnertest"
)

// jsonVerify is the documented JSON report of verify.
type jsonVerify struct {
	Outcome       string `json:"outcome"`
	Organizations []struct {
		Organization            *string `json:"organization"`
		DestinationOrganization *string `json:"destination_organization"`
		RepositoriesChecked     *int    `json:"repositories_checked"`
		TagsChecked             *int    `json:"tags_checked"`
		Missing                 *int    `json:"missing"`
		Stale                   *int    `json:"stale"`
		Pending                 *int    `json:"pending"`
		RecoveryPointSeconds    *int64  `json:"recovery_point_seconds"`
		Outcome                 string  `json:"outcome"`
		Repositories            []struct {
			Name    *string   `json:"name"`
			Missing *[]string `json:"missing"`
			Stale   *[]string `json:"stale"`
			Pending *[]string `json:"pending"`
			Error   *string   `json:"error"`
		} `json:"repositories"`
	} `json:"organizations"`
}

func decodeVerify(t *testing.T, s string) jsonVerify {
	t.Helper()
	var v jsonVerify
	dec := json.NewDecoder(strings.NewReader(s))
	if err := dec.Decode(&v); err != nil || dec.More() {
		t.Fatalf("stdout is not one JSON document (%v):\n%s", err, s)
	}
	for _, o := range v.Organizations {
		if o.Organization == nil || o.DestinationOrganization == nil || o.RepositoriesChecked == nil || o.TagsChecked == nil ||
			o.Missing == nil || o.Stale == nil || o.Pending == nil || o.RecoveryPointSeconds == nil || o.Repositories == nil {
			t.Fatalf("an organization lacks a documented field:\n%s", s)
		}
		for _, r := range o.Repositories {
			if r.Name == nil || r.Missing == nil || r.Stale == nil || r.Pending == nil || r.Error == nil {
				t.Fatalf("a repository lacks a documented field:\n%s", s)
			}
		}
	}
	return v
}

const verifyOrg = "internal-docker-io"

// verifyAt is the injected clock's time of the verifications below.
var verifyAt = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// standbyWorld is two emulated Quays where the destination is a standby
// of the source in every state verify tells apart, relative to at:
//
//	library/nginx     v2 and latest pushed 5 h ago, not copied: missing
//	library/redis     latest moved 2 h ago, the standby has the old digest: stale
//	bitnami/kafka     a mirror that never ran; its v1 is 30 h old: missing
//	library/postgres  created at the source after the last sync: missing at the destination
//	library/alpine    v3 pushed 5 minutes ago: pending
//	library/big       537 tags, 7 of them pushed 4 h ago and not copied: missing
//
// Every other tag was copied by the mirror workers a day before at.
func standbyWorld(t *testing.T, at time.Time) *demo.Env {
	t.Helper()
	d := startDemo(t, demo.Org{Name: verifyOrg, Repositories: []quaymirror.Repository{
		{Name: "library/nginx"}, {Name: "library/redis"}, {Name: "library/alpine"}, {Name: "library/big"},
	}})
	src, dst := d.Source.Fake, d.Destination.Fake
	push := func(name string, tags ...quaymirror.Tag) {
		t.Helper()
		must(t, src.PushTags(verifyOrg, name, tags...))
	}
	named := func(ago time.Duration, names ...string) []quaymirror.Tag {
		out := make([]quaymirror.Tag, len(names))
		for i, n := range names {
			out[i] = quaymirror.Tag{Name: n, LastModified: at.Add(-ago)}
		}
		return out
	}
	bigTags := func(from, to int, ago time.Duration) []quaymirror.Tag {
		var names []string
		for i := from; i < to; i++ {
			names = append(names, fmt.Sprintf("1.%03d", i))
		}
		return named(ago, names...)
	}
	push("library/nginx", named(72*time.Hour, "v1")...)
	push("library/redis", named(72*time.Hour, "v1", "latest")...)
	push("library/alpine", named(72*time.Hour, "v1")...)
	push("library/big", bigTags(0, 530, 72*time.Hour)...)

	// The sync a day before, and the mirror workers copying everything.
	syncAt := at.Add(-24 * time.Hour)
	sync := func() {
		t.Helper()
		r := verifyRunner(t, d, runnertest.NewClock(syncAt))
		res, err := r.Sync(t.Context(), wiringOrgs(t, d))
		must(t, err)
		if !res.OK() {
			t.Fatalf("sync: %+v", res.Organizations)
		}
	}
	sync()
	if n := dst.SyncMirrors(syncAt, src.ServedAt(strings.TrimPrefix(d.Source.URL, "http://"))); n != 4 {
		t.Fatalf("%d mirrors synced", n)
	}
	// kafka appears at the source and is configured by the next sync,
	// but its mirror never runs.
	must(t, src.AddRepository(quaymirror.Repository{Namespace: verifyOrg, Name: "bitnami/kafka"}))
	push("bitnami/kafka", named(30*time.Hour, "v1")...)
	sync()
	must(t, dst.SetMirrorStatus(verifyOrg, "bitnami/kafka", quaymirror.MirrorStatus{SyncStatus: quaymirror.SyncNeverRun, RetriesRemaining: 3}))
	// What the source changed since.
	must(t, src.AddRepository(quaymirror.Repository{Namespace: verifyOrg, Name: "library/postgres"}))
	push("library/postgres", named(3*time.Hour, "v15")...)
	push("library/nginx", named(5*time.Hour, "v2", "latest")...)
	push("library/redis", quaymirror.Tag{Name: "latest", Digest: fake.TagDigest("redis-rebuilt"), LastModified: at.Add(-2 * time.Hour)})
	push("library/alpine", named(5*time.Minute, "v3")...)
	push("library/big", bigTags(530, 537, 4*time.Hour)...)
	d.Source.Emulator.ResetCounters()
	d.Destination.Emulator.ResetCounters()
	return d
}

// verifyRunner is the runner `quaymirror verify` builds from the demo's
// configuration, on the given clock.
func verifyRunner(t *testing.T, d *demo.Env, clock runner.Clock, extra ...string) *runner.Runner {
	t.Helper()
	cfg := resolved(t, d, extra...)
	r, err := wiring.New(cfg, nil, runner.WithClock(clock))
	must(t, err)
	t.Cleanup(func() { _ = r.Close(context.Background()) })
	return r
}

func resolved(t *testing.T, d *demo.Env, extra ...string) *config.Resolved {
	t.Helper()
	c, err := config.Parse(t.Context(), config.MapLookuper(d.Environ(append([]string{"ORGANIZATIONS=" + verifyOrg}, extra...)...)))
	must(t, err)
	cfg, err := config.Resolve(c, config.NeedSync)
	must(t, err)
	return cfg
}

func wiringOrgs(t *testing.T, d *demo.Env) []runner.Org { return wiring.Orgs(resolved(t, d)) }

// Over the emulators, with the real client over HTTP and an injected
// clock: every count and the recovery point exact, the documented JSON,
// reads only, and a repository of more than 500 tags listed whole.
func TestVerifyOverTheEmulator(t *testing.T) {
	t.Parallel()
	d := standbyWorld(t, verifyAt)
	r := verifyRunner(t, d, runnertest.NewClock(verifyAt))
	res, err := r.Verify(t.Context(), wiringOrgs(t, d))
	must(t, err)
	var buf bytes.Buffer
	writeJSON(&buf, res)
	v := decodeVerify(t, buf.String())

	if v.Outcome != "incomplete" || len(v.Organizations) != 1 {
		t.Fatalf("report:\n%s", buf.String())
	}
	o := v.Organizations[0]
	// Tags checked: nginx v1 v2 latest, redis v1 latest, kafka v1,
	// postgres v15, alpine v1 v3, big 537.
	if *o.Organization != verifyOrg || *o.DestinationOrganization != verifyOrg || *o.RepositoriesChecked != 6 || *o.TagsChecked != 3+2+1+1+2+537 ||
		*o.Missing != 2+1+1+7 || *o.Stale != 1 || *o.Pending != 1 || *o.RecoveryPointSeconds != 30*3600 || o.Outcome != "incomplete" {
		t.Errorf("counts:\n%s", buf.String())
	}
	got := map[string]string{}
	for _, r := range o.Repositories {
		got[*r.Name] = fmt.Sprintf("missing %v stale %v pending %v error %q", *r.Missing, *r.Stale, *r.Pending, *r.Error)
	}
	want := map[string]string{
		"library/nginx":    `missing [latest v2] stale [] pending [] error ""`,
		"library/redis":    `missing [] stale [latest] pending [] error ""`,
		"bitnami/kafka":    `missing [v1] stale [] pending [] error ""`,
		"library/postgres": `missing [v15] stale [] pending [] error ""`,
		"library/alpine":   `missing [] stale [] pending [v3] error ""`,
		"library/big":      `missing [1.530 1.531 1.532 1.533 1.534 1.535 1.536] stale [] pending [] error ""`,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("repositories:\n got %v\nwant %v", got, want)
	}
	names := make([]string, len(o.Repositories))
	for i, r := range o.Repositories {
		names[i] = *r.Name
	}
	if !slices.IsSorted(names) {
		t.Errorf("repositories not sorted: %v", names)
	}

	// Reads only, at both ends.
	if w := d.Source.Emulator.Writes() + d.Destination.Emulator.Writes(); w != 0 {
		t.Errorf("verify wrote %d times: %v %v", w, d.Source.Emulator.Requests(), d.Destination.Emulator.Requests())
	}
	// The repository read gives at most 500 tags; beyond, the tag
	// endpoint's pages of 100 (1 to 6 for 537 tags), at both ends for
	// library/big and for it alone.
	const repoRead, tagPages = "GET /api/v1/repository/{repo}", "GET /api/v1/repository/{repo}/tag/"
	srcReq, dstReq := d.Source.Emulator.Requests(), d.Destination.Emulator.Requests()
	// The source: every repository read once; the destination: the
	// mirrors whose source has tags (nginx, redis, kafka, alpine, big).
	if srcReq[repoRead] != 6 || srcReq[tagPages] != 6 || dstReq[repoRead] != 5 || dstReq[tagPages] != 6 {
		t.Errorf("tag reads: source %v, destination %v", srcReq, dstReq)
	}
}

// The exit codes of the command itself, over the emulators: 0 complete, 1
// incomplete, 2 bad configuration (no request), 3 preflight; and verify
// pushes its metrics like every command.
func TestVerifyExitCodes(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC().Truncate(time.Second)
	d := standbyWorld(t, now)
	gw := promtest.StartPushgateway(t)
	env := d.Environ("ORGANIZATIONS="+verifyOrg, "METRICS_PUSHGATEWAY="+gw.URL)

	r := run(t, env, "verify", "-o", "json")
	v := decodeVerify(t, r.stdout)
	if r.code != ExitFailed || v.Outcome != "incomplete" || *v.Organizations[0].Missing != 11 {
		t.Fatalf("verify = %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	group := []string{"job", "quaymirror", "organization", verifyOrg, "command", "verify"}
	s := gw.Scrape(t)
	if s.Value(t, metrics.MissingTags, group...) != 11 || s.Value(t, metrics.StaleTags, group...) != 1 ||
		s.Value(t, metrics.RecoveryPoint, group...) != float64(*v.Organizations[0].RecoveryPointSeconds) ||
		s.Value(t, metrics.LastRunSuccess, group...) != 0 {
		t.Error("the pushed metrics are not the report's")
	}

	// Text, the same verdict.
	r = run(t, env, "verify")
	if r.code != ExitFailed || !strings.Contains(r.stdout, "INCOMPLETE, recovery point 30h00m") || !strings.Contains(r.stdout, "library/big") {
		t.Errorf("verify (text) = %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// Selecting only what was copied: complete, exit 0.
	r = run(t, d.Environ("ORGANIZATIONS="+verifyOrg, "INCLUDE=library/alpine,library/redis", `TAG_GLOB=["v*"]`), "verify")
	if r.code != ExitOK || !strings.Contains(r.stdout, ": complete") || !strings.Contains(r.stdout, "1 pending") {
		t.Errorf("verify of what was copied = %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// A bad destination token: the preflight fails, exit 3.
	r = run(t, d.Environ("ORGANIZATIONS="+verifyOrg, "DESTINATION_TOKEN=expired-token-0000"), "verify")
	if r.code != ExitPreflight || !strings.Contains(r.stdout, "preflight failed, nothing verified") || !strings.Contains(r.stdout, "fix:") {
		t.Errorf("verify with a bad token = %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	if w := d.Source.Emulator.Writes() + d.Destination.Emulator.Writes(); w != 0 {
		t.Errorf("verify wrote %d times", w)
	}

	// Bad configuration: exit 2 and one line naming the setting, before
	// any request.
	d.Source.Emulator.ResetCounters()
	d.Destination.Emulator.ResetCounters()
	for setting, extra := range map[string]string{"VERIFY_GRACE": "VERIFY_GRACE=1h", "TAG_GLOB": "TAG_GLOB=*", "INCLUDE": "INCLUDE=a b"} {
		r := run(t, d.Environ("ORGANIZATIONS="+verifyOrg, extra), "verify")
		if r.code != ExitUsage || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, setting+": ") || r.stdout != "" {
			t.Errorf("%s: exit %d, stderr %q", extra, r.code, r.stderr)
		}
	}
	if n := len(d.Source.Emulator.Requests()) + len(d.Destination.Emulator.Requests()); n != 0 {
		t.Errorf("requests were sent with a bad configuration: %v %v", d.Source.Emulator.Requests(), d.Destination.Emulator.Requests())
	}
}

// Debug logs and reports of verify never show a token.
func TestVerifyShowsNoSecret(t *testing.T) {
	t.Parallel()
	d := standbyWorld(t, time.Now())
	var out strings.Builder
	for _, args := range [][]string{{"verify"}, {"verify", "-o", "json"}} {
		r := run(t, d.Environ("ORGANIZATIONS="+verifyOrg, "DEBUG=true"), args...)
		out.WriteString(r.stdout + r.stderr)
	}
	if !strings.Contains(out.String(), `"@level":"debug"`) {
		t.Fatal("no debug log was written: the test would prove nothing")
	}
	for _, secret := range []string{demo.SourceToken, demo.DestinationToken, demo.PullPassword} {
		if strings.Contains(out.String(), secret) {
			t.Errorf("secret %q appears in verify's output", secret)
		}
	}
}

// The text report of verify, on runs that hold every kind of line it
// prints, is kept as a golden file.
func TestVerifyTextReport(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	src, dst := fake.New(), fake.New()
	tg := func(name, label string, ago time.Duration) quaymirror.Tag {
		return quaymirror.Tag{Name: name, Digest: fake.TagDigest(label), LastModified: at.Add(-ago)}
	}
	repo := func(reg *fake.Registry, org, name string, state quaymirror.State, tags ...quaymirror.Tag) {
		must(t, reg.AddRepository(quaymirror.Repository{Namespace: org, Name: name, State: state}))
		must(t, reg.PushTags(org, name, tags...))
	}
	h := time.Hour
	// docker: incomplete in every way.
	repo(src, docker, "library/nginx", "", tg("1.25", "n1", 50*h), tg("1.26", "n2", 26*h), tg("latest", "n2", 26*h))
	repo(dst, docker, "library/nginx", quaymirror.StateMirror, tg("1.25", "n1", 49*h), tg("latest", "n1", 49*h))
	var many []quaymirror.Tag
	for i := range 8 {
		many = append(many, tg(fmt.Sprintf("v%d", i), fmt.Sprint("k", i), 3*h))
	}
	repo(src, docker, "bitnami/kafka", "", many...)
	repo(dst, docker, "bitnami/kafka", quaymirror.StateMirror)
	repo(src, docker, "library/postgres", "", tg("16", "p1", 5*h))
	repo(src, docker, "library/redis", "", tg("7", "r1", 5*h))
	repo(dst, docker, "library/redis", quaymirror.StateNormal, tg("7", "r1", 5*h))
	repo(src, docker, "library/alpine", "", tg("3.20", "a1", 5*time.Minute))
	repo(dst, docker, "library/alpine", quaymirror.StateMirror)
	repo(src, docker, "library/busybox", "", tg("1", "b1", 5*h))
	repo(dst, docker, "library/busybox", quaymirror.StateMirror, tg("1", "b1", 5*h))
	dst.FailOn(fake.OpListTags, docker, "library/busybox", fmt.Errorf("503 Service Unavailable: %w", quaymirror.ErrUnavailable))
	// redhat: complete.
	repo(src, redhat, "ubi9/ubi", "", tg("9.4", "u1", 5*h))
	repo(dst, redhat, "ubi9/ubi", quaymirror.StateMirror, tg("9.4", "u1", 4*h))
	// acme: its destination organisation does not exist.
	must(t, src.AddOrganization("acme"))

	r, err := runner.New(func(_ context.Context, o runner.Org) (quaymirror.Source, quaymirror.Destination, error) {
		if o.Source == gone {
			return nil, nil, errors.New("no token file for organization internal-gone in /secrets/source")
		}
		return src, dst, nil
	}, runner.WithRate(0, 0), runner.WithConcurrency(1), runner.WithClock(runnertest.NewClock(at)))
	must(t, err)
	res, err := r.Verify(t.Context(), goldenOrgs(docker, redhat, "acme", gone))
	must(t, err)
	var buf bytes.Buffer
	writeVerifyText(&buf, res)
	golden(t, "verify.txt", buf.Bytes())
	if exitCode(res.Outcome) != ExitPreflight {
		t.Errorf("outcome %s", res.Outcome)
	}

	// A run cut by its budget says so.
	clock := runnertest.NewClock(at)
	r, err = runner.New(func(context.Context, runner.Org) (quaymirror.Source, quaymirror.Destination, error) {
		return src, dst, nil
	},
		runner.WithRate(0, 0), runner.WithConcurrency(1), runner.WithClock(clock), runner.WithBudget(time.Minute))
	must(t, err)
	dst.ClearFailures()
	dst.SetHook(func(_ context.Context, op fake.Op, _, name string) error {
		if op == fake.OpListTags && name == "library/nginx" {
			clock.Advance(time.Minute)
		}
		return nil
	})
	res, err = r.Verify(t.Context(), goldenOrgs(docker, redhat))
	must(t, err)
	buf.Reset()
	writeVerifyText(&buf, res)
	golden(t, "verify-interrupted.txt", buf.Bytes())
}

// A source that keeps no change times (an OCI registry) says what is
// missing, and that since when is unknown rather than a date of year 1.
func TestVerifyTextWithoutChangeTimes(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	// A source whose clock gives no time stamps its tags with none.
	src, dst := fake.New(fake.WithClock(func() time.Time { return time.Time{} })), fake.New()
	must(t, src.AddRepository(quaymirror.Repository{Namespace: docker, Name: "app"}))
	must(t, src.PushTags(docker, "app", quaymirror.Tag{Name: "v1", Digest: fake.TagDigest("a1")}))
	must(t, dst.AddRepository(quaymirror.Repository{Namespace: docker, Name: "app", State: quaymirror.StateMirror}))
	r, err := runner.New(func(context.Context, runner.Org) (quaymirror.Source, quaymirror.Destination, error) {
		return src, dst, nil
	}, runner.WithRate(0, 0), runner.WithClock(runnertest.NewClock(at)))
	must(t, err)
	res, err := r.Verify(t.Context(), goldenOrgs(docker))
	must(t, err)
	var buf bytes.Buffer
	writeVerifyText(&buf, res)
	out := buf.String()
	if !strings.Contains(out, "INCOMPLETE, recovery point unknown (the source records no change times)") || strings.Contains(out, "0001-01-01") {
		t.Errorf("report:\n%s", out)
	}
	if exitCode(res.Outcome) != ExitFailed {
		t.Errorf("outcome %s, want exit 1: a tag is missing", res.Outcome)
	}
}

func TestAge(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		0: "0s", 45 * time.Second: "45s", 20 * time.Minute: "20m", 90 * time.Second: "1m30s",
		10*time.Hour + 5*time.Minute: "10h05m", 47 * time.Hour: "47h00m", 75 * time.Hour: "3d3h",
	} {
		if got := age(d); got != want {
			t.Errorf("age(%s) = %s, want %s", d, got, want)
		}
	}
}
