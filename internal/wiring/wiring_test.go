package wiring_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/quaymirror/quaymirror/internal/config"
	"github.com/quaymirror/quaymirror/internal/demo"
	"github.com/quaymirror/quaymirror/internal/wiring"
	"github.com/quaymirror/quaymirror/runner"
)

func resolve(t *testing.T, environ []string, need config.Need) *config.Resolved {
	t.Helper()
	c, err := config.Parse(context.Background(), config.MapLookuper(environ))
	if err != nil {
		t.Fatal(err)
	}
	r, err := config.Resolve(c, need)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Each organisation's clients carry its own tokens: with a directory of
// tokens in which one is wrong, only that organisation fails.
func TestEachOrganizationHasItsOwnTokens(t *testing.T) {
	t.Parallel()
	d, err := demo.Start(demo.Options{Orgs: demo.DefaultOrgs()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	dir := t.TempDir()
	for org, token := range map[string]string{"internal-docker-io": "wrong-token", "internal-registry-redhat-io": demo.SourceToken} {
		if err := os.WriteFile(filepath.Join(dir, org), []byte(token), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg := resolve(t, d.Environ("SOURCE_TOKEN=", "SOURCE_TOKENS_DIR="+dir), config.NeedSync)
	r, err := wiring.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	orgs := wiring.Orgs(cfg)
	if len(orgs) != 2 || orgs[1].Policy.Robot != "internal-registry-redhat-io+mirror" || orgs[1].Policy.SourceRegistry == "" {
		t.Fatalf("orgs = %+v", orgs)
	}
	res, err := r.Check(t.Context(), orgs)
	if err != nil {
		t.Fatal(err)
	}
	bad, good := res.Organizations[0], res.Organizations[1]
	if bad.OK() || bad.Checks[0].Name != "source credentials" || bad.Checks[0].Status != "fail" || !good.OK() {
		t.Errorf("checks: %+v / %+v", bad.Checks, good.Checks)
	}
}

// Status needs no source registry: the runner gets a destination alone.
func TestStatusWithoutASource(t *testing.T) {
	t.Parallel()
	d, err := demo.Start(demo.Options{Orgs: demo.DefaultOrgs()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	cfg := resolve(t, d.Environ("SOURCE_REGISTRY="), config.NeedStatus)
	r, err := wiring.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	health, err := r.Status(t.Context(), wiring.Orgs(cfg), false)
	if err != nil || len(health) != 2 || !health[0].Healthy() {
		t.Errorf("status = %+v, %v", health, err)
	}
	// An organisation that is not configured is an error of its own.
	if _, err := r.Status(t.Context(), []runner.Org{{Source: "elsewhere"}}, false); err == nil {
		t.Error("status of an unconfigured organization succeeded")
	}
}
