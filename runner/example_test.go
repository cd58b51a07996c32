package runner_test

import (
	"context"
	"fmt"
	"log"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/fake"
	"github.com/quaymirror/quaymirror/runner"
)

// Two organisations in one run: the one whose robot is missing at the
// destination is reported with its fix and nothing is written to it; the
// other is mirrored.
func Example() {
	src, dst := fake.New(), fake.New()
	for _, r := range []quaymirror.Repository{{Namespace: "acme", Name: "api"}, {Namespace: "acme", Name: "web"}, {Namespace: "beta", Name: "tool"}} {
		if err := src.AddRepository(r); err != nil {
			log.Fatal(err)
		}
	}
	if err := dst.AddRobot("acme", "mirror"); err != nil {
		log.Fatal(err)
	}
	if err := dst.AddOrganization("beta"); err != nil {
		log.Fatal(err)
	}

	r, err := runner.New(func(context.Context, runner.Org) (quaymirror.Source, quaymirror.Destination, error) {
		return src, dst, nil // a real program opens one client per organisation and side here
	})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close(context.Background())
	var orgs []runner.Org
	for _, name := range []string{"acme", "beta"} {
		orgs = append(orgs, runner.Org{Source: name, Policy: quaymirror.Policy{SourceRegistry: "quay.example.com", Robot: name + "+mirror"}})
	}
	res, err := r.Sync(context.Background(), orgs)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("run:", res.Outcome)
	for _, o := range res.Organizations {
		fmt.Printf("%s: %s, %d created\n", o.Organization, o.Outcome, o.Created)
		for _, c := range o.Preflight.Failed() {
			fmt.Printf("  failed check: %s: %s\n", c.Name, c.Detail)
		}
	}
	// Output:
	// run: preflight_failed
	// acme: ok, 2 created
	// beta: preflight_failed, 0 created
	//   failed check: robot: robot beta+mirror does not exist
}
