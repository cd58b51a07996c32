package quaymirror_test

import (
	"context"
	"errors"
	"testing"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/fake"
)

// Behaviours of real Quay that issue 10 found the engine getting wrong.

// Quay accepts any robot short name of 2 to 255 characters matching
// ^[a-z0-9]+(?:[._-][a-z0-9]+)*$ (util/validation.py validate_username);
// only the older web UI was stricter.
func TestRobotShortNamesQuayAccepts(t *testing.T) {
	t.Parallel()
	for _, short := range []string{"mirror", "mirror-bot", "ci.bot", "1bot", "a_b", "m1", "x9.y-z_0"} {
		if !quaymirror.ValidRobotShortName(short) {
			t.Errorf("ValidRobotShortName(%q) = false; Quay accepts it", short)
		}
		p := basePolicy()
		p.Robot = org + "+" + short
		if err := p.Validate(); err != nil {
			t.Errorf("policy with robot %s: %v", p.Robot, err)
		}
	}
	long := make([]byte, 256)
	for i := range long {
		long[i] = 'a'
	}
	for _, short := range []string{"", "a", "Bot", "bot-", "-bot", "a..b", "a b", "a+b", "ci/bot", string(long)} {
		if quaymirror.ValidRobotShortName(short) {
			t.Errorf("ValidRobotShortName(%q) = true; Quay refuses it", short)
		}
		p := basePolicy()
		p.Robot = org + "+" + short
		var pe *quaymirror.PolicyError
		if err := p.Validate(); !errors.As(err, &pe) || pe.Field != "Robot" {
			t.Errorf("policy with robot %q: %v, want a PolicyError on Robot", p.Robot, err)
		}
	}

	// A run with such a robot converges.
	w := world{src: fake.New(), dst: fake.New()}
	must(t, w.src.AddOrganization(org))
	must(t, w.dst.AddOrganization(org))
	must(t, w.dst.AddRobot(org, "ci.bot"))
	w.source(t, "app")
	p := basePolicy()
	p.Robot = org + "+ci.bot"
	e := w.engine(t, p)
	checks, err := e.Preflight(context.Background())
	must(t, err)
	if !checks.OK() {
		t.Fatalf("preflight: %+v", checks.Failed())
	}
	rep, err := e.Sync(context.Background())
	must(t, err)
	if !rep.OK() || rep.Created != 1 {
		t.Fatalf("sync: %+v", rep.Repositories)
	}
	if m, _ := w.dst.Mirror(org, "app"); m.Config.Robot != org+"+ci.bot" {
		t.Errorf("mirror robot = %q", m.Config.Robot)
	}
}
