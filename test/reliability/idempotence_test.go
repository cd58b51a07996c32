package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quaymirror/quaymirror/internal/demo"
	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/quay/quaytest"
)

// Quay versions the scenarios run against: the presets and the patch
// releases with a version trap (skopeo timeout dropped on POST in 3.14.7+,
// architecture filter dropped on POST in 3.16.4+, the hardened 3.9.25).
var scenarioVersions = []quaytest.Version{
	quaytest.V3_6, {Major: 3, Minor: 9, Patch: 25}, {Major: 3, Minor: 14, Patch: 8}, quaytest.V3_15,
	{Major: 3, Minor: 16, Patch: 4}, quaytest.V3_17, quaytest.V3_18,
}

// destination kinds a scenario gives each repository.
type destKind int

const (
	kindMissing       destKind = iota // not at the destination
	kindEmpty                         // NORMAL, no tags, no mirror
	kindTagged                        // NORMAL holding a tag, no mirror
	kindMirrorDrifted                 // MIRROR with a configuration that differs
	kindMirrorNoConf                  // MIRROR without a configuration
	kindReadOnly                      // READ_ONLY holding a tag
	kindSyncing                       // MIRROR, drifted, SYNCING
	kindTaggedMirror                  // NORMAL holding a tag, with a mirror configuration
	kinds
)

var kindNames = [...]string{"missing", "empty", "tagged", "drifted", "mirror-no-config", "read-only", "syncing", "tagged-with-config"}

// scenario is a random but valid configuration over a random destination.
type scenario struct {
	seed    uint64
	version quaytest.Version
	env     []string
	globs   []string // TAG_GLOB
	adopt   bool
	orphans bool // DISABLE_ORPHANS
	// include and exclude are the INCLUDE and EXCLUDE globs.
	include, exclude []string
	repos            []string
	kind             map[string]destKind
	// extra are destination-only repositories: an orphan mirror of the
	// source, a mirror of another registry, a NORMAL repository.
	extra []string
}

const propOrg = "prop"

// scenarioSourceTags are the tags of every source repository of a
// scenario. The drifted configurations select old-1; the policies select
// other tags, so that the mirror worker shows which configuration a
// repository has.
var scenarioSourceTags = []string{"latest", "old-1", "v1", "v2"}

// tagGlobChoices are the TAG_GLOB values a scenario picks from.
var tagGlobChoices = [][]string{{"*"}, {"v*", "latest"}, {"latest"}}

func newScenario(seed uint64) *scenario {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	s := &scenario{seed: seed, version: scenarioVersions[rng.IntN(len(scenarioVersions))], kind: map[string]destKind{}}
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	yes := func() bool { return rng.IntN(2) == 0 }
	s.adopt, s.orphans = yes(), yes()
	s.globs = tagGlobChoices[rng.IntN(len(tagGlobChoices))]
	globs, _ := json.Marshal(s.globs)
	env := []string{
		"ORGANIZATIONS=" + propOrg, "OUTPUT=json",
		"TAG_GLOB=" + string(globs),
		"SYNC_INTERVAL=" + pick("60", "600", "3600", "86400"),
		"MIRROR_VERIFY_TLS=" + pick("true", "false"),
		"VISIBILITY=" + pick("private", "public", "source"),
		fmt.Sprintf("ADOPT_EXISTING=%t", s.adopt),
		fmt.Sprintf("DISABLE_ORPHANS=%t", s.orphans),
		"SYNC_NOW=" + pick("true", "false"),
		fmt.Sprintf("CONCURRENCY=%d", 1+rng.IntN(8)),
	}
	if yes() {
		env = append(env, "MIRROR_HTTP_PROXY=http://proxy.example.com:3128", "MIRROR_NO_PROXY="+pick(".corp", ".corp,.internal"))
	}
	if yes() {
		env = append(env, "MIRROR_HTTPS_PROXY=http://proxy.example.com:3129")
	}
	if s.version.Compare(quaytest.Version{Major: 3, Minor: 7}) >= 0 {
		env = append(env, "UNSIGNED_IMAGES="+pick("true", "false"))
	}
	if s.version.Compare(quaytest.V3_15) >= 0 && yes() {
		env = append(env, "SKOPEO_TIMEOUT="+pick("300", "900"))
	}
	if s.version.Compare(quaytest.V3_17) >= 0 && yes() {
		env = append(env, "ARCHITECTURE_FILTER="+pick("amd64", "amd64,arm64"))
	}
	switch rng.IntN(4) {
	case 0:
		s.include = []string{"team/*", "app-0*"}
		env = append(env, "INCLUDE="+strings.Join(s.include, ","))
	case 1:
		s.exclude = []string{"*-03"}
		env = append(env, "EXCLUDE="+strings.Join(s.exclude, ","))
	}
	s.env = env
	for i := range 6 + rng.IntN(10) {
		name := fmt.Sprintf("app-%02d", i)
		if i%3 == 2 {
			name = "team/" + name
		}
		s.repos = append(s.repos, name)
		s.kind[name] = destKind(rng.IntN(int(kinds)))
	}
	for i, e := range []string{"gone-from-the-source", "elsewhere", "local"} {
		if yes() || i == 0 {
			s.extra = append(s.extra, e)
		}
	}
	return s
}

// handled reports whether the run works on a repository: it is at the
// source and the globs select it.
func (s *scenario) handled(name string) bool {
	if _, ok := s.kind[name]; !ok {
		return false
	}
	match := func(globs []string) bool {
		return slices.ContainsFunc(globs, func(g string) bool { return quaymirror.MatchGlob(g, name) })
	}
	return (len(s.include) == 0 || match(s.include)) && !match(s.exclude)
}

func (s *scenario) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d, Quay %s, %s\n", s.seed, s.version, strings.Join(s.env, " "))
	for _, r := range s.repos {
		fmt.Fprintf(&b, "  %s: %s\n", r, kindNames[s.kind[r]])
	}
	fmt.Fprintf(&b, "  destination only: %v", s.extra)
	return b.String()
}

// driftedConfig is a mirror configuration of the source repository that
// differs from any policy in at least its tag glob, plus random other
// fields.
func driftedConfig(rng *rand.Rand, srcHost, name string, v quaytest.Version) quaymirror.MirrorConfig {
	cfg := quaymirror.MirrorConfig{
		Enabled: true, ExternalReference: srcHost + "/" + propOrg + "/" + name, Username: demo.PullUsername,
		SyncInterval: 600 * time.Second, SyncStartDate: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		TagGlobs: []string{"old-*"}, Robot: propOrg + "+mirror", VerifyTLS: true,
	}
	if v.Compare(quaytest.V3_15) >= 0 {
		cfg.SkopeoTimeout = 300 * time.Second
	}
	if rng.IntN(2) == 0 {
		cfg.Enabled = false
	}
	if rng.IntN(3) == 0 {
		cfg.Username = "someone-else"
	}
	if rng.IntN(3) == 0 {
		cfg.Proxy = quaymirror.Proxy{HTTPProxy: "http://old-proxy:3128"}
	}
	if rng.IntN(3) == 0 {
		cfg.SyncInterval = 7200 * time.Second
	}
	return cfg
}

// seed builds the scenario's destination.
func (s *scenario) seedDestination(t *testing.T, d *demo.Env) {
	t.Helper()
	rng := rand.New(rand.NewPCG(s.seed, 0xde57))
	dst := d.Destination.Fake
	srcHost := strings.TrimPrefix(d.Source.URL, "http://")
	add := func(name string, state quaymirror.State, tags ...string) {
		must(t, dst.AddRepository(quaymirror.Repository{Namespace: propOrg, Name: name, State: state, Tags: tags, Visibility: quaymirror.Private}))
	}
	mirror := func(name string, cfg quaymirror.MirrorConfig, status quaymirror.SyncStatus) {
		must(t, dst.PutMirror(propOrg, name, quaymirror.Mirror{Config: cfg,
			Status: quaymirror.MirrorStatus{SyncStatus: status, RetriesRemaining: 3, NextSync: cfg.SyncStartDate}}))
	}
	for _, name := range s.repos {
		switch s.kind[name] {
		case kindEmpty:
			add(name, quaymirror.StateNormal)
		case kindTagged:
			add(name, quaymirror.StateNormal, "hand-pushed")
		case kindMirrorDrifted:
			add(name, quaymirror.StateMirror, "v1")
			mirror(name, driftedConfig(rng, srcHost, name, s.version), quaymirror.SyncSuccess)
		case kindMirrorNoConf:
			add(name, quaymirror.StateMirror)
		case kindReadOnly:
			add(name, quaymirror.StateReadOnly, "frozen")
		case kindSyncing:
			add(name, quaymirror.StateMirror)
			mirror(name, driftedConfig(rng, srcHost, name, s.version), quaymirror.SyncSyncing)
		case kindTaggedMirror:
			add(name, quaymirror.StateNormal, "hand-pushed")
			mirror(name, driftedConfig(rng, srcHost, name, s.version), quaymirror.SyncNeverRun)
		}
	}
	for _, name := range s.extra {
		switch name {
		case "gone-from-the-source":
			add(name, quaymirror.StateMirror, "v1")
			mirror(name, driftedConfig(rng, srcHost, name, s.version), quaymirror.SyncSuccess)
		case "elsewhere":
			add(name, quaymirror.StateMirror, "v1")
			cfg := driftedConfig(rng, srcHost, name, s.version)
			cfg.ExternalReference = "registry.example.com/other/" + name
			mirror(name, cfg, quaymirror.SyncSuccess)
		case "local":
			add(name, quaymirror.StateNormal, "latest")
		}
	}
}

// run runs one scenario: sync must succeed, the next sync must write
// nothing, and no content may be lost on the way.
func (s *scenario) run(t *testing.T) {
	repos := make([]quaymirror.Repository, len(s.repos))
	for i, name := range s.repos {
		repos[i] = quaymirror.Repository{Namespace: propOrg, Name: name, Description: "about " + name,
			Visibility: []quaymirror.Visibility{quaymirror.Private, quaymirror.Public}[i%2], Tags: slices.Clone(scenarioSourceTags)}
	}
	d := startDemo(t, demo.Options{Version: s.version, Orgs: []demo.Org{{Name: propOrg, Repositories: repos}}})
	s.seedDestination(t, d)
	// Quay's mirror worker has been running on the destination: its
	// mirrors hold what their configurations select. It runs again after
	// each quaymirror run, so that a repository wrongly made a mirror, or
	// a mirror wrongly configured, shows in its tags.
	worker := newMirrorWorker(d)
	worker.pass()
	before := snapshot(t, d.Destination.Fake, propOrg)
	env := d.Environ(s.env...)

	r := runCLI(context.Background(), env, "sync")
	if r.code != 0 {
		t.Fatalf("sync of a valid configuration against a healthy Quay failed:\n%s\n%s", s, r)
	}
	worker.pass()
	checkNoDataLoss(t, s, before, snapshot(t, d.Destination.Fake, propOrg))

	// Converged: the next run writes nothing, and its plan lists nothing
	// to do, although the worker moved statuses, start dates and tags.
	d.Destination.Emulator.ResetCounters()
	r = runCLI(context.Background(), env, "sync")
	run := decodeRun(t, r)
	if w := d.Destination.Emulator.Writes(); r.code != 0 || w != 0 {
		var todo []string
		for _, res := range run.Organizations[0].Repositories {
			if res.Action != quaymirror.ActionUnchanged && res.Action != quaymirror.ActionSkip {
				todo = append(todo, fmt.Sprintf("%s: %s (%s) %v", res.Name, res.Action, res.Reason, res.Diff))
			}
		}
		t.Fatalf("the run after a converged one sent %d writes (%v), exit %d:\n%s\n%s", w, d.Destination.Emulator.Requests(),
			r.code, strings.Join(todo, "\n"), s)
	}
	for _, res := range run.Organizations[0].Repositories {
		switch res.Action {
		case quaymirror.ActionCreate, quaymirror.ActionConfigure, quaymirror.ActionUpdate:
			t.Errorf("%s: %s after convergence (%s)", res.Name, res.Action, res.Reason)
		}
	}
	worker.pass()
	checkNoDataLoss(t, s, before, snapshot(t, d.Destination.Fake, propOrg))
	for route := range d.Destination.Emulator.Requests() {
		if strings.HasPrefix(route, "DELETE") {
			t.Errorf("a DELETE was sent: %s", route)
		}
	}
}

// checkNoDataLoss compares the destination after a run and a pass of the
// mirror worker with before: nothing is deleted; a repository holding
// tags is never switched to mirroring without ADOPT_EXISTING; READ_ONLY
// repositories, excluded ones and destination-only ones are left alone
// (an orphan's mirror may only be disabled, with DISABLE_ORPHANS); no
// repository the run handled is in MIRROR state without a configuration.
// Tags change only where the worker synchronised a mirror of the
// repository's own source with the policy's globs, in a repository that
// was a mirror, held nothing, or was adopted; and every such mirror holds
// what the worker selects from its source.
func checkNoDataLoss(t *testing.T, s *scenario, before, after map[string]repoState) {
	t.Helper()
	want := selected(scenarioSourceTags, s.globs)
	for name, b := range before {
		a, ok := after[name]
		if !ok {
			t.Errorf("%s was deleted\n%s", name, s)
			continue
		}
		if !slices.Equal(a.Tags, b.Tags) {
			ownMirror := a.State == quaymirror.StateMirror && a.Mirror != nil &&
				strings.HasSuffix(a.Mirror.ExternalReference, "/"+propOrg+"/"+name) && quaymirror.SameTagGlobs(a.Mirror.TagGlobs, s.globs)
			switch {
			case !s.handled(name):
				// Left alone: checked below.
			case !ownMirror || !slices.Equal(a.Tags, want):
				t.Errorf("%s: tags %v became %v, but it is not a mirror of its source with the policy's globs: %s\n%s", name, b.Tags, a.Tags, a, s)
			case len(b.Tags) > 0 && b.State != quaymirror.StateMirror && !s.adopt:
				t.Errorf("%s: tags %v became %v: it was made a mirror without ADOPT_EXISTING\n%s", name, b.Tags, a.Tags, s)
			}
		}
		if len(b.Tags) > 0 && b.State == quaymirror.StateNormal && !s.adopt && a.State != quaymirror.StateNormal {
			t.Errorf("%s holds tags and became %s without ADOPT_EXISTING\n%s", name, a.State, s)
		}
		switch {
		case b.State == quaymirror.StateReadOnly, !s.handled(name) && name != "gone-from-the-source":
			if a.String() != b.String() {
				t.Errorf("%s must be left alone:\n   before %s\n   after  %s\n%s", name, b, a, s)
			}
		case name == "gone-from-the-source":
			disabled := b
			m := *b.Mirror
			m.Enabled = false
			disabled.Mirror = &m
			if a.String() != b.String() && (!s.orphans || a.String() != disabled.String()) {
				t.Errorf("the orphan changed beyond being disabled:\n   before %s\n   after  %s\n%s", b, a, s)
			}
		}
	}
	for name, a := range after {
		if !s.handled(name) {
			continue
		}
		if a.State == quaymirror.StateMirror && a.Mirror == nil {
			t.Errorf("%s is in MIRROR state without a configuration\n%s", name, s)
		}
		// A SYNCING mirror stays stuck (Quay's worker never claims it).
		if a.State == quaymirror.StateMirror && a.Mirror != nil && a.Mirror.Enabled && s.kind[name] != kindSyncing &&
			len(want) > 0 && !slices.Equal(a.Tags, want) {
			t.Errorf("%s mirrors %s with %v but holds %v after the worker ran, not the %v its source has selected\n%s",
				name, a.Mirror.ExternalReference, a.Mirror.TagGlobs, a.Tags, want, s)
		}
	}
}

// After any converged run, the next run makes zero write requests; no run
// loses content. Random valid configurations over random destinations
// (every repository state the engine distinguishes, orphans, repositories
// of other registries), on every emulated Quay version with a trap: 16
// scenarios under make test, 1000 under make soak.
func TestIdempotenceAndNoDataLoss(t *testing.T) {
	t.Parallel()
	for seed := range uint64(size(16, 1000)) {
		s := newScenario(seed + 1)
		t.Run(fmt.Sprintf("seed=%d", s.seed), func(t *testing.T) {
			t.Parallel()
			s.run(t)
		})
	}
}
