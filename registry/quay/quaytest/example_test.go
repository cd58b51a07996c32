package quaytest_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"strings"

	"github.com/quaymirror/quaymirror/registry/fake"
	"github.com/quaymirror/quaymirror/registry/quay"
	"github.com/quaymirror/quaymirror/registry/quay/quaytest"
)

// An emulated Quay 3.15 seeded from JSON, served over HTTP and read with
// the real client.
func Example() {
	seed, err := quaytest.ReadSeed(strings.NewReader(`{
	  "users": [{"name": "admin", "organizations": {"*": "admin"}}],
	  "tokens": [{"token": "s3cret", "user": "admin", "scopes": ["repo:admin", "repo:create", "org:admin", "user:read"]}],
	  "organizations": [{"name": "acme", "robots": [{"name": "mirror"}],
	    "repositories": [{"name": "app"}, {"name": "team/tool", "visibility": "public"}]}]
	}`))
	if err != nil {
		log.Fatal(err)
	}
	reg := fake.New()
	em, err := quaytest.New(reg, quaytest.WithVersion(quaytest.V3_15))
	if err != nil {
		log.Fatal(err)
	}
	if err := em.LoadSeed(seed); err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewServer(em)
	defer srv.Close()

	client, err := quay.New(srv.URL, quay.WithToken("s3cret"))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	caps, err := client.Capabilities(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("skopeo timeout: %v, architecture filter: %v\n", caps.SkopeoTimeout, caps.ArchitectureFilter)
	page, err := client.ListRepositories(ctx, "acme", "")
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range page.Repositories {
		fmt.Println(r.FullName(), r.Visibility, r.State)
	}
	fmt.Println(em.Requests()["GET /api/v1/repository"], "listing request")
	// Output:
	// skopeo timeout: true, architecture filter: false
	// acme/app private NORMAL
	// acme/team/tool public NORMAL
	// 1 listing request
}
