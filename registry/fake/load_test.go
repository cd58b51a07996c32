package fake_test

import (
	"strings"
	"testing"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/fake"
)

func TestLoad(t *testing.T) {
	r := fake.New()
	enabled := false
	err := r.Load(fake.Seed{Organizations: []fake.SeedOrganization{{
		Name:   "acme",
		Robots: []fake.SeedRobot{{Name: "mirror", Description: "pushes"}},
		Repositories: []fake.SeedRepository{
			{Name: "app", Tags: []string{"v1"}, Permissions: map[string]quaymirror.Role{"acme+mirror": quaymirror.RoleWrite}},
			{Name: "team/tool", Mirror: &fake.SeedMirror{
				IsEnabled: &enabled, ExternalReference: "quay.example.com/acme/team/tool", SyncInterval: 60,
				SyncStartDate: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), RootRule: fake.SeedRule{RuleValue: []string{"*"}},
				RobotUsername: "acme+mirror", SyncStatus: quaymirror.SyncFail,
			}},
		},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if rp, _ := r.Repository("acme", "team/tool"); rp.State != quaymirror.StateMirror || rp.Visibility != quaymirror.Private {
		t.Errorf("mirrored repository %+v: want MIRROR and private by default", rp)
	}
	m, ok := r.Mirror("acme", "team/tool")
	if !ok || m.Config.Enabled || !m.Config.VerifyTLS || m.Status.RetriesRemaining != 3 || m.Status.SyncStatus != quaymirror.SyncFail ||
		!m.Status.NextSync.Equal(m.Config.SyncStartDate) || m.Config.SyncInterval != time.Minute {
		t.Errorf("mirror %+v", m)
	}
	if r.Permission("acme", "app", "acme+mirror") != quaymirror.RoleWrite {
		t.Error("permission not loaded")
	}
	if err := r.Load(fake.Seed{Organizations: []fake.SeedOrganization{{Name: "acme", Repositories: []fake.SeedRepository{{Name: "new"}, {Name: "app"}}}}}); err == nil {
		t.Error("loading an existing repository succeeded")
	}
	if _, ok := r.Repository("acme", "new"); ok {
		t.Error("a refused seed was partly loaded")
	}
}

func TestSeedValidateReportsEverything(t *testing.T) {
	err := fake.Seed{Organizations: []fake.SeedOrganization{
		{Name: "Bad"},
		{Name: "ok", Robots: []fake.SeedRobot{{Name: "x-"}}, Repositories: []fake.SeedRepository{
			{Name: "a", State: "WEIRD", Visibility: "hidden", Permissions: map[string]quaymirror.Role{"u": "owner"}},
			{Name: "a", Mirror: &fake.SeedMirror{SyncStatus: "DONE", SyncInterval: -1}},
		}},
	}}.Validate()
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{`"Bad"`, `"x-"`, `"WEIRD"`, `"hidden"`, `"owner"`, `listed twice`, `"DONE"`, "negative sync_interval"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
}
