package quaymirror_test

import (
	"context"
	"fmt"
	"log"

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
