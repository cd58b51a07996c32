package reliability

import (
	"context"
	"sync"
	"testing"
	"time"

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
		{Namespace: org, Name: "a-first", Visibility: quaymirror.Private},
		{Namespace: org, Name: "b-no-config", Visibility: quaymirror.Private},
		{Namespace: org, Name: "c-with-config", Visibility: quaymirror.Private},
	}}
	d := startDemo(t, demo.Options{Orgs: []demo.Org{o}})
	dst := d.Destination.Fake
	must(t, dst.AddRepository(quaymirror.Repository{Namespace: org, Name: "b-no-config", State: quaymirror.StateNormal}))
	must(t, dst.AddRepository(quaymirror.Repository{Namespace: org, Name: "c-with-config", State: quaymirror.StateNormal}))
	must(t, dst.PutMirror(org, "c-with-config", quaymirror.Mirror{Config: quaymirror.MirrorConfig{
		Enabled: true, ExternalReference: "placeholder/" + org + "/c-with-config", Username: demo.PullUsername,
		SyncInterval: 600 * time.Second, TagGlobs: []string{"*"}, Robot: org + "+mirror", VerifyTLS: true,
	}}))
	fixReferences(t, d, org)

	// The first write of the run (creating a-first: the apply has begun)
	// is when someone pushes into the two empty repositories.
	var once sync.Once
	dst.SetHook(func(_ context.Context, op fake.Op, _, _ string) error {
		if op.IsWrite() {
			once.Do(func() {
				for _, name := range []string{"b-no-config", "c-with-config"} {
					if err := dst.SetTags(org, name, []string{"pushed-late"}); err != nil {
						t.Error(err)
					}
				}
			})
		}
		return nil
	})
	r := runCLI(context.Background(), d.Environ("ORGANIZATIONS="+org, "CONCURRENCY=1", "OUTPUT=json"), "sync")
	for _, name := range []string{"b-no-config", "c-with-config"} {
		repo, _ := dst.Repository(org, name)
		if repo.State != quaymirror.StateNormal {
			t.Errorf("%s holds a tag pushed after the plan and became %s without ADOPT_EXISTING:\n%s", name, repo.State, r)
		}
	}
}
