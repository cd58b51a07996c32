package quaymirror_test

import (
	"context"
	"fmt"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/fake"
)

// The engine's own cost, without HTTP or latency: both registries are
// in-memory fakes. internal/bench measures the engine with the real client
// against emulated servers; these benchmarks show what the engine itself
// spends per repository (time and allocations), so that a regression in
// Plan or Apply shows up without a two-process run.

const benchOrg = "bench"

// benchWorld returns a source of n repositories and a destination with the
// organisation and the robot.
func benchWorld(b *testing.B, n int) (src, dst *fake.Registry) {
	b.Helper()
	src, dst = fake.New(), fake.New()
	if err := src.AddOrganization(benchOrg); err != nil {
		b.Fatal(err)
	}
	if err := dst.AddOrganization(benchOrg); err != nil {
		b.Fatal(err)
	}
	if err := dst.AddRobot(benchOrg, "mirror"); err != nil {
		b.Fatal(err)
	}
	for i := range n {
		if err := src.AddRepository(quaymirror.Repository{Namespace: benchOrg, Name: fmt.Sprintf("repo-%05d", i)}); err != nil {
			b.Fatal(err)
		}
	}
	return src, dst
}

func benchEngine(b *testing.B, src, dst *fake.Registry) *quaymirror.Engine {
	b.Helper()
	e, err := quaymirror.NewEngine(src, dst, quaymirror.Policy{
		SourceRegistry:  "quay-src.example.com",
		SourceNamespace: benchOrg,
		Robot:           benchOrg + "+mirror",
		TagGlobs:        []string{"*"},
	}, quaymirror.WithSourceRate(0, 0), quaymirror.WithDestinationRate(0, 0), quaymirror.WithConcurrency(8))
	if err != nil {
		b.Fatal(err)
	}
	return e
}

func reportPerRepository(b *testing.B, n int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/repo")
}

// BenchmarkPlanSteadyState plans an organisation whose mirrors are all in
// place: two listings and one mirror read per repository.
func BenchmarkPlanSteadyState(b *testing.B) {
	for _, n := range []int{1000, 20000} {
		b.Run(fmt.Sprintf("repos=%d", n), func(b *testing.B) {
			src, dst := benchWorld(b, n)
			e := benchEngine(b, src, dst)
			if _, err := e.Sync(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				p, err := e.Plan(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				if p.Count(quaymirror.ActionUnchanged) != n {
					b.Fatalf("%d unchanged, want %d", p.Count(quaymirror.ActionUnchanged), n)
				}
			}
			reportPerRepository(b, n)
		})
	}
}

// BenchmarkSyncFirstRun creates every repository and its mirror.
func BenchmarkSyncFirstRun(b *testing.B) {
	for _, n := range []int{1000, 20000} {
		b.Run(fmt.Sprintf("repos=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				src, dst := benchWorld(b, n)
				e := benchEngine(b, src, dst)
				b.StartTimer()
				rep, err := e.Sync(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				if rep.Created != n {
					b.Fatalf("%d created, want %d", rep.Created, n)
				}
			}
			reportPerRepository(b, n)
		})
	}
}

// synthetic is an organisation of n repositories, all mirrored as the
// policy wants, that exists only as arithmetic: listing pages and mirror
// configurations are made up on demand, so that the heap measured is the
// engine's alone. Writes succeed and change nothing.
type synthetic struct {
	n      int
	mirror quaymirror.Mirror
}

func (s *synthetic) ListRepositories(_ context.Context, ns, token string) (quaymirror.RepositoryPage, error) {
	start := 0
	if token != "" {
		fmt.Sscanf(token, "%d", &start)
	}
	var page quaymirror.RepositoryPage
	for i := start; i < min(start+100, s.n); i++ {
		page.Repositories = append(page.Repositories, quaymirror.Repository{Namespace: ns, Name: fmt.Sprintf("repo-%06d", i),
			Visibility: quaymirror.Private, State: quaymirror.State(string([]byte("MIRROR")))})
	}
	if start+100 < s.n {
		page.Next = fmt.Sprint(start + 100)
	}
	return page, nil
}

func (s *synthetic) GetRepository(_ context.Context, ns, name string) (*quaymirror.Repository, error) {
	return &quaymirror.Repository{Namespace: ns, Name: name, State: quaymirror.StateMirror}, nil
}

func (s *synthetic) GetMirror(_ context.Context, ns, name string) (*quaymirror.Mirror, error) {
	m := s.mirror
	m.Config.ExternalReference = "quay-src.example.com/" + benchOrg + "/" + name
	return &m, nil
}

func (*synthetic) CreateRepository(context.Context, quaymirror.Repository) error { return nil }
func (*synthetic) ChangeState(context.Context, string, string, quaymirror.State) error {
	return nil
}
func (*synthetic) CreateMirror(context.Context, string, string, quaymirror.MirrorConfig) error {
	return nil
}
func (*synthetic) UpdateMirror(context.Context, string, string, quaymirror.MirrorConfig, []quaymirror.Field) error {
	return nil
}
func (*synthetic) SyncNow(context.Context, string, string) error    { return nil }
func (*synthetic) CancelSync(context.Context, string, string) error { return nil }

// BenchmarkSyncHeap syncs 100,000 repositories that need nothing against
// a synthetic organisation and reports the live heap the engine holds at
// its end, per repository: the report's results, which the caller keeps.
func BenchmarkSyncHeap(b *testing.B) {
	const n = 100_000
	src := &synthetic{n: n}
	dst := &synthetic{n: n, mirror: quaymirror.Mirror{Config: quaymirror.MirrorConfig{Enabled: true, SyncInterval: quaymirror.DefaultSyncInterval,
		TagGlobs: []string{"*"}, Robot: benchOrg + "+mirror", VerifyTLS: true}}}
	e, err := quaymirror.NewEngine(src, dst, quaymirror.Policy{SourceRegistry: "quay-src.example.com", SourceNamespace: benchOrg,
		Robot: benchOrg + "+mirror", TagGlobs: []string{"*"}}, quaymirror.WithSourceRate(0, 0), quaymirror.WithDestinationRate(0, 0))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		samples := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}
		var peakLive, peakHeap uint64
		stop, done := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			for {
				metrics.Read(samples)
				peakLive, peakHeap = max(peakLive, samples[0].Value.Uint64()), max(peakHeap, samples[1].Value.Uint64())
				select {
				case <-stop:
					return
				case <-time.After(time.Millisecond):
				}
			}
		}()
		rep, err := e.Sync(context.Background())
		close(stop)
		<-done
		if err != nil || rep.Unchanged != n {
			b.Fatalf("%v %+v", err, rep.Counts)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "end-live-B/repo")
		b.ReportMetric(float64(peakLive-before.HeapAlloc)/n, "peak-live-B/repo")
		b.ReportMetric(float64(peakHeap-before.HeapAlloc)/n, "peak-heap-B/repo")
		b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/n, "alloc-B/repo")
		runtime.KeepAlive(rep)
	}
}
