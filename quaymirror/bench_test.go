package quaymirror_test

import (
	"context"
	"fmt"
	"testing"

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
