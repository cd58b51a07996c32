package reliability

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quaymirror/quaymirror/internal/cli"
	"github.com/quaymirror/quaymirror/internal/demo"
	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/fake"
)

// Someone pushes a tag into an empty destination repository after the plan
// read it and before the apply reaches it. Without ADOPT_EXISTING the
// repository must not become a mirror: the mirror would delete the tags
// its globs do not select. The plan of a large organisation takes minutes,
// so the window is real. Both ways into MIRROR are covered: creating the
// mirror configuration (an empty repository without one) and changing the
// state (an empty NORMAL repository that has one).
func TestTagsPushedAfterThePlanAreNotMirroredOver(t *testing.T) {
	t.Parallel()
	const org = "late"
	o := demo.Org{Name: org, Repositories: []quaymirror.Repository{
		{Namespace: org, Name: "a-first", Visibility: quaymirror.Private, Tags: sourceTags},
		{Namespace: org, Name: "b-no-config", Visibility: quaymirror.Private, Tags: sourceTags},
		{Namespace: org, Name: "c-with-config", Visibility: quaymirror.Private, Tags: sourceTags},
	}}
	d := startDemo(t, demo.Options{Orgs: []demo.Org{o}})
	dst := d.Destination.Fake
	must(t, dst.AddRepository(quaymirror.Repository{Namespace: org, Name: "b-no-config", State: quaymirror.StateNormal}))
	must(t, dst.AddRepository(quaymirror.Repository{Namespace: org, Name: "c-with-config", State: quaymirror.StateNormal}))
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	must(t, dst.PutMirror(org, "c-with-config", quaymirror.Mirror{Config: quaymirror.MirrorConfig{
		Enabled: true, ExternalReference: "placeholder/" + org + "/c-with-config", Username: demo.PullUsername,
		SyncInterval: 600 * time.Second, SyncStartDate: start, TagGlobs: []string{"*"}, Robot: org + "+mirror", VerifyTLS: true,
	}, Status: quaymirror.MirrorStatus{SyncStatus: quaymirror.SyncSuccess, NextSync: start, RetriesRemaining: 3}}))
	fixReferences(t, d, org)

	// The plan reads each of the two repositories once (it has no tag);
	// the writes read it again right before the one that would make it a
	// mirror. Someone pushes into each when it is read the second time:
	// after its plan, before its write (a sync writes each repository as
	// soon as it is planned, so the window is per repository).
	var pushed atomic.Int32
	var mu sync.Mutex
	reads := map[string]int{}
	dst.SetHook(func(_ context.Context, op fake.Op, _, name string) error {
		if op != fake.OpGetRepository || (name != "b-no-config" && name != "c-with-config") {
			return nil
		}
		mu.Lock()
		reads[name]++
		again := reads[name] == 2
		mu.Unlock()
		if again {
			if err := dst.SetTags(org, name, []string{"pushed-late"}); err != nil {
				t.Error(err)
			}
			pushed.Add(1)
		}
		return nil
	})
	r := runCLI(context.Background(), d.Environ("ORGANIZATIONS="+org, "CONCURRENCY=1", "OUTPUT=json"), "sync")
	if pushed.Load() != 2 {
		t.Errorf("neither b-no-config nor c-with-config was read again after the plan: the apply must read an empty repository again before it makes it a mirror\n%s", r)
	}
	// Skipping a repository is no failure: the run succeeds, a-first is
	// mirrored, the two others are skipped and say why.
	run := decodeRun(t, r)
	if r.code != cli.ExitOK || !run.OK() {
		t.Errorf("want exit 0 and a successful run:\n%s", r)
	}
	want := map[string]quaymirror.Outcome{
		"a-first":       quaymirror.OutcomeCreated,
		"b-no-config":   quaymirror.OutcomeSkipped,
		"c-with-config": quaymirror.OutcomeSkipped,
	}
	results := run.Organizations[0].Repositories
	if len(results) != len(want) {
		t.Errorf("%d repositories in the report, want %d:\n%s", len(results), len(want), r)
	}
	for _, res := range results {
		if res.Outcome != want[res.Name] {
			t.Errorf("%s: outcome %s, want %s", res.Name, res.Outcome, want[res.Name])
		}
		if res.Outcome == quaymirror.OutcomeSkipped && !strings.Contains(res.Reason, "pushed since the plan") {
			t.Errorf("%s: skipped for %q, not for the tag pushed since the plan", res.Name, res.Reason)
		}
	}
	// Quay's mirror worker runs: it would delete the pushed tag of a
	// repository made a mirror.
	newMirrorWorker(d).pass()
	state := snapshot(t, dst, org)
	if s := state["a-first"]; s.State != quaymirror.StateMirror || s.Mirror == nil || !slices.Equal(s.Tags, sourceTags) {
		t.Errorf("a-first is not a working mirror: %s", s)
	}
	for _, name := range []string{"b-no-config", "c-with-config"} {
		s := state[name]
		if s.State != quaymirror.StateNormal || !slices.Equal(s.Tags, []string{"pushed-late"}) {
			t.Errorf("%s holds a tag pushed after the plan and became %s without ADOPT_EXISTING:\n%s", name, s, r)
		}
	}
	if state["b-no-config"].Mirror != nil {
		t.Errorf("b-no-config was given a mirror configuration: %s", state["b-no-config"])
	}
}
