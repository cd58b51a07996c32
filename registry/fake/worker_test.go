package fake_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/fake"
)

var (
	workerStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	workerNow   = time.Date(2026, 1, 1, 0, 30, 0, 250000000, time.UTC) // 30 min into a 1 h interval
)

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// workerPair is a source registry served as "src.example:443" and a
// destination with the organisation acme.
func workerPair(t *testing.T) (src, dst *fake.Registry) {
	t.Helper()
	src, dst = fake.New(), fake.New()
	noErr(t, src.AddOrganization("acme"))
	noErr(t, dst.AddOrganization("acme"))
	return src, dst
}

// mirrored adds a MIRROR repository to dst holding tags, with a mirror of
// src.example:443/acme/<source> selecting globs, in status.
func mirrored(t *testing.T, dst *fake.Registry, name, source string, tags, globs []string, enabled bool, status quaymirror.MirrorStatus) {
	t.Helper()
	noErr(t, dst.AddRepository(quaymirror.Repository{Namespace: "acme", Name: name, State: quaymirror.StateMirror, Tags: tags}))
	noErr(t, dst.PutMirror("acme", name, quaymirror.Mirror{
		Config: quaymirror.MirrorConfig{Enabled: enabled, ExternalReference: "src.example:443/acme/" + source,
			SyncInterval: time.Hour, SyncStartDate: workerStart, TagGlobs: globs, Robot: "acme+mirror"},
		Status: status,
	}))
}

func due(s quaymirror.SyncStatus) quaymirror.MirrorStatus {
	return quaymirror.MirrorStatus{SyncStatus: s, NextSync: workerStart, RetriesRemaining: 3}
}

func tagsOf(t *testing.T, reg *fake.Registry, name string) []string {
	t.Helper()
	r, ok := reg.Repository("acme", name)
	if !ok {
		t.Fatalf("acme/%s is missing", name)
	}
	return r.Tags
}

// A due mirror takes the source's tags its globs select, loses its other
// tags, and is released SUCCESS with 3 retries, its next start on the
// grid and a success log.
func TestSyncMirrorsCopiesTheSelectedTags(t *testing.T) {
	t.Parallel()
	src, dst := workerPair(t)
	noErr(t, src.AddRepository(quaymirror.Repository{Namespace: "acme", Name: "team/app", Tags: []string{"v2", "latest", "dev-1", "v1", "V3"}}))
	mirrored(t, dst, "app", "team/app", []string{"hand-pushed", "v1"}, []string{"v*", "latest"}, true,
		quaymirror.MirrorStatus{SyncStatus: quaymirror.SyncFail, NextSync: workerStart, RetriesRemaining: 1})

	if n := dst.SyncMirrors(workerNow, src.ServedAt("src.example:443")); n != 1 {
		t.Fatalf("%d mirrors synchronised, want 1", n)
	}
	if got, want := tagsOf(t, dst, "app"), []string{"latest", "v1", "v2"}; !slices.Equal(got, want) {
		t.Errorf("tags %v, want %v (fnmatch is case-sensitive; tags the globs do not select are deleted)", got, want)
	}
	m, _ := dst.Mirror("acme", "app")
	want := quaymirror.MirrorStatus{SyncStatus: quaymirror.SyncSuccess, RetriesRemaining: 3,
		NextSync: time.Date(2026, 1, 1, 1, 0, 0, 250000000, time.UTC)} // now's fraction kept, as Quay does
	if m.Status != want {
		t.Errorf("status %+v, want %+v", m.Status, want)
	}
	if logs := dst.Logs("acme", "app"); len(logs) != 1 || logs[0].Kind != quaymirror.LogSyncSuccess || !logs[0].Time.Equal(workerNow) {
		t.Errorf("logs %+v, want one success at now", logs)
	}
	// Not due again until its next start.
	if n := dst.SyncMirrors(workerNow.Add(29*time.Minute), src.ServedAt("src.example:443")); n != 0 {
		t.Errorf("%d mirrors synchronised before their next start", n)
	}
	if n := dst.SyncMirrors(workerNow.Add(30*time.Minute), src.ServedAt("src.example:443")); n != 1 {
		t.Errorf("%d mirrors synchronised at their next start, want 1", n)
	}
}

// Which mirrors the worker picks: SYNC_NOW even when disabled; otherwise
// enabled, due, with retries, not SYNCING; never a repository that is not
// MIRROR.
func TestSyncMirrorsPicksWhatQuaysWorkerPicks(t *testing.T) {
	t.Parallel()
	src, dst := workerPair(t)
	noErr(t, src.AddRepository(quaymirror.Repository{Namespace: "acme", Name: "app", Tags: []string{"v1"}}))
	later := quaymirror.MirrorStatus{SyncStatus: quaymirror.SyncSuccess, NextSync: workerNow.Add(time.Minute), RetriesRemaining: 3}
	for _, tc := range []struct {
		name    string
		enabled bool
		status  quaymirror.MirrorStatus
		state   quaymirror.State
		runs    bool
	}{
		{"due", true, due(quaymirror.SyncSuccess), quaymirror.StateMirror, true},
		{"never-run", true, due(quaymirror.SyncNeverRun), quaymirror.StateMirror, true},
		{"sync-now-disabled", false, due(quaymirror.SyncNow), quaymirror.StateMirror, true},
		{"disabled", false, due(quaymirror.SyncSuccess), quaymirror.StateMirror, false},
		{"not-yet", true, later, quaymirror.StateMirror, false},
		{"no-retries", true, quaymirror.MirrorStatus{SyncStatus: quaymirror.SyncCancel, NextSync: workerStart}, quaymirror.StateMirror, false},
		{"syncing", true, due(quaymirror.SyncSyncing), quaymirror.StateMirror, false},
		{"normal", true, due(quaymirror.SyncNow), quaymirror.StateNormal, false},
		{"read-only", true, due(quaymirror.SyncSuccess), quaymirror.StateReadOnly, false},
	} {
		mirrored(t, dst, tc.name, "app", nil, []string{"*"}, tc.enabled, tc.status)
		noErr(t, dst.SetState("acme", tc.name, tc.state))
	}
	if n := dst.SyncMirrors(workerNow, src.ServedAt("src.example:443")); n != 3 {
		t.Errorf("%d mirrors synchronised, want 3", n)
	}
	for _, name := range []string{"due", "never-run", "sync-now-disabled"} {
		if got := tagsOf(t, dst, name); !slices.Equal(got, []string{"v1"}) {
			t.Errorf("%s: tags %v, want [v1]", name, got)
		}
	}
	for _, name := range []string{"disabled", "not-yet", "no-retries", "syncing", "normal", "read-only"} {
		if got := tagsOf(t, dst, name); len(got) != 0 {
			t.Errorf("%s was synchronised: tags %v", name, got)
		}
	}
}

// When no source tag matches, nothing changes but the status.
func TestSyncMirrorsWithoutAMatchKeepsTheTags(t *testing.T) {
	t.Parallel()
	src, dst := workerPair(t)
	noErr(t, src.AddRepository(quaymirror.Repository{Namespace: "acme", Name: "app", Tags: []string{"latest"}}))
	mirrored(t, dst, "app", "app", []string{"hand-pushed"}, []string{"v*"}, true, due(quaymirror.SyncNeverRun))
	if n := dst.SyncMirrors(workerNow, src.ServedAt("src.example:443")); n != 1 {
		t.Fatalf("%d mirrors synchronised, want 1", n)
	}
	if got := tagsOf(t, dst, "app"); !slices.Equal(got, []string{"hand-pushed"}) {
		t.Errorf("tags %v, want [hand-pushed]", got)
	}
	if m, _ := dst.Mirror("acme", "app"); m.Status.SyncStatus != quaymirror.SyncSuccess {
		t.Errorf("status %s, want SUCCESS", m.Status.SyncStatus)
	}
}

// A source that cannot be read fails the synchronisation: FAIL, one retry
// fewer, the start unchanged so the next pass retries; the third failure
// gives 3 retries again and moves the start to the grid.
func TestSyncMirrorsFailureSpendsARetry(t *testing.T) {
	t.Parallel()
	src, dst := workerPair(t)
	mirrored(t, dst, "app", "gone", []string{"v1"}, []string{"*"}, true, due(quaymirror.SyncSuccess))
	source := src.ServedAt("src.example:443")
	for i, want := range []quaymirror.MirrorStatus{
		{SyncStatus: quaymirror.SyncFail, NextSync: workerStart, RetriesRemaining: 2},
		{SyncStatus: quaymirror.SyncFail, NextSync: workerStart, RetriesRemaining: 1},
		{SyncStatus: quaymirror.SyncFail, NextSync: time.Date(2026, 1, 1, 1, 0, 0, 250000000, time.UTC), RetriesRemaining: 3},
	} {
		if n := dst.SyncMirrors(workerNow, source); n != 1 {
			t.Fatalf("pass %d: %d mirrors synchronised, want 1", i+1, n)
		}
		if m, _ := dst.Mirror("acme", "app"); m.Status != want {
			t.Errorf("pass %d: status %+v, want %+v", i+1, m.Status, want)
		}
	}
	if got := tagsOf(t, dst, "app"); !slices.Equal(got, []string{"v1"}) {
		t.Errorf("a failed synchronisation changed the tags: %v", got)
	}
	logs := dst.Logs("acme", "app")
	if len(logs) != 3 || logs[0].Kind != quaymirror.LogSyncFailed || logs[0].Message == "" {
		t.Errorf("logs %+v, want three failures saying why", logs)
	}
}

func TestServedAt(t *testing.T) {
	t.Parallel()
	src := fake.New(fake.WithClock(func() time.Time { return fakeNow }))
	noErr(t, src.AddOrganization("acme"))
	noErr(t, src.AddRepository(quaymirror.Repository{Namespace: "acme", Name: "team/app", Tags: []string{"v1"}}))
	source := src.ServedAt("127.0.0.1:8080")
	want := []quaymirror.Tag{{Name: "v1", Digest: fake.TagDigest("v1"), LastModified: fakeNow}}
	if tags, err := source("127.0.0.1:8080/acme/team/app"); err != nil || !slices.Equal(tags, want) {
		t.Errorf("nested repository: %v, %v; want %v", tags, err, want)
	}
	for _, ref := range []string{"127.0.0.1:8081/acme/team/app", "127.0.0.1:8080/acme/missing", "127.0.0.1:8080/acme", "127.0.0.1:8080"} {
		if _, err := source(ref); !errors.Is(err, quaymirror.ErrNotFound) {
			t.Errorf("%s: error %v, want ErrNotFound", ref, err)
		}
	}
}

// A registry can be its own source (a mirror of another of its
// organisations): the worker does not hold its lock while reading it.
func TestSyncMirrorsFromItself(t *testing.T) {
	t.Parallel()
	reg := fake.New()
	noErr(t, reg.AddOrganization("acme"))
	noErr(t, reg.AddOrganization("upstream"))
	noErr(t, reg.AddRepository(quaymirror.Repository{Namespace: "upstream", Name: "app", Tags: []string{"v1"}}))
	noErr(t, reg.AddRepository(quaymirror.Repository{Namespace: "acme", Name: "app", State: quaymirror.StateMirror}))
	noErr(t, reg.PutMirror("acme", "app", quaymirror.Mirror{
		Config: quaymirror.MirrorConfig{Enabled: true, ExternalReference: "self:443/upstream/app", SyncInterval: time.Hour,
			SyncStartDate: workerStart, TagGlobs: []string{"*"}},
		Status: due(quaymirror.SyncNow),
	}))
	done := make(chan int, 1)
	go func() { done <- reg.SyncMirrors(workerNow, reg.ServedAt("self:443")) }()
	select {
	case n := <-done:
		if got := tagsOf(t, reg, "app"); n != 1 || !slices.Equal(got, []string{"v1"}) {
			t.Errorf("%d synchronised, tags %v; want 1 and [v1]", n, got)
		}
	case <-time.After(time.Minute):
		t.Fatal("SyncMirrors deadlocked reading its own registry")
	}
}
