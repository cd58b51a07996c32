package quaymirror_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/fake"
)

// exampleRegistries returns a source with three repositories and a
// destination with the organisation, its robot and one repository that
// already holds tags.
func exampleRegistries() (*fake.Registry, *fake.Registry) {
	src, dst := fake.New(), fake.New()
	for _, name := range []string{"api", "web", "tools/cli"} {
		if err := src.AddRepository(quaymirror.Repository{Namespace: "acme", Name: name}); err != nil {
			log.Fatal(err)
		}
	}
	if err := dst.AddRobot("acme", "mirror"); err != nil {
		log.Fatal(err)
	}
	if err := dst.AddRepository(quaymirror.Repository{Namespace: "acme", Name: "web", Tags: []string{"hotfix"}}); err != nil {
		log.Fatal(err)
	}
	return src, dst
}

// Plan shows what a sync would do, writing nothing: a dry run.
func ExampleEngine_Plan() {
	src, dst := exampleRegistries()
	engine, err := quaymirror.NewEngine(src, dst, quaymirror.Policy{
		SourceRegistry:  "quay.example.com",
		SourceNamespace: "acme",
		Robot:           "acme+mirror",
		TagGlobs:        []string{"v*", "latest"},
	})
	if err != nil {
		log.Fatal(err)
	}
	plan, err := engine.Plan(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	for _, it := range plan.Items {
		fmt.Printf("%-9s %-9s %s\n", it.Name, it.Action, it.Reason)
	}
	// Output:
	// api       create    missing at the destination
	// tools/cli create    missing at the destination
	// web       skip      the destination repository is a NORMAL repository holding 1 tag; mirroring would delete the tags the tag globs do not select (set adopt-existing to allow it)
}

// Sync plans and applies; a second sync finds nothing to do.
func ExampleEngine_Sync() {
	src, dst := exampleRegistries()
	policy := quaymirror.Policy{
		SourceRegistry:  "quay.example.com",
		SourceNamespace: "acme",
		Robot:           "acme+mirror",
		Username:        "acme+reader",
		Password:        "token-from-a-secret",
	}
	for run := 1; run <= 2; run++ {
		engine, err := quaymirror.NewEngine(src, dst, policy)
		if err != nil {
			log.Fatal(err)
		}
		report, err := engine.Sync(context.Background())
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("run %d: created %d, unchanged %d, skipped %d, failed %d\n",
			run, report.Created, report.Unchanged, report.Skipped, report.Failed)
	}
	m, _ := dst.Mirror("acme", "tools/cli")
	fmt.Println(m.Config.ExternalReference, m.Config.TagGlobs, m.Config.SyncInterval)
	// Output:
	// run 1: created 2, unchanged 0, skipped 1, failed 0
	// run 2: created 0, unchanged 2, skipped 1, failed 0
	// quay.example.com/acme/tools/cli [*] 10m0s
}

// Verify tells what the destination lacks of the source, tag by tag, and
// since when. Here the mirror workers copied v1.0 of every repository; v1.1
// of api was pushed since, three hours ago, and v1.2 a minute ago, within
// the grace.
func ExampleEngine_Verify() {
	now := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	src, dst := exampleRegistries()
	policy := quaymirror.Policy{SourceRegistry: "quay.example.com", SourceNamespace: "acme", Robot: "acme+mirror",
		Exclude: []string{"web"}}
	engine, err := quaymirror.NewEngine(src, dst, policy, quaymirror.WithClock(func() time.Time { return now }))
	if err != nil {
		log.Fatal(err)
	}
	for _, name := range []string{"api", "tools/cli"} {
		if err := src.PushTags("acme", name, quaymirror.Tag{Name: "v1.0", LastModified: now.Add(-48 * time.Hour)}); err != nil {
			log.Fatal(err)
		}
	}
	if _, err := engine.Sync(context.Background()); err != nil {
		log.Fatal(err)
	}
	dst.SyncMirrors(now.Add(-24*time.Hour), src.ServedAt("quay.example.com"))
	if err := src.PushTags("acme", "api", quaymirror.Tag{Name: "v1.1", LastModified: now.Add(-3 * time.Hour)},
		quaymirror.Tag{Name: "v1.2", LastModified: now.Add(-time.Minute)}); err != nil {
		log.Fatal(err)
	}

	v, err := engine.Verify(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d repositories, %d tags: %d missing, %d pending; recovery point %s\n",
		v.RepositoriesChecked, v.TagsChecked, v.Missing, v.Pending, v.RecoveryPoint())
	for _, r := range v.Repositories {
		fmt.Println(r.Name, "missing", r.Missing, "pending", r.Pending, "since", r.OldestChange.Format(time.RFC3339))
	}
	// Output:
	// 2 repositories, 4 tags: 1 missing, 1 pending; recovery point 3h0m0s
	// api missing [v1.1] pending [v1.2] since 2026-05-04T09:00:00Z
}
