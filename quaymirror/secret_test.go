package quaymirror_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/quaymirror/quaymirror/quaymirror"
)

func TestSecretNeverPrints(t *testing.T) {
	t.Parallel()
	s := quaymirror.Secret(secret)
	var out bytes.Buffer
	fmt.Fprintf(&out, "%v %s %q %+v %#v %x %d\n", s, s, s, s, s, s, s)
	fmt.Fprintln(&out, s, struct{ P quaymirror.Secret }{s})
	j, _ := json.Marshal(map[string]any{"p": s, "policy": basePolicy()})
	out.Write(j)
	logger := hclog.New(&hclog.LoggerOptions{Output: &out, Level: hclog.Trace})
	logger.Debug("text", "password", s, "policy", basePolicy())
	hclog.New(&hclog.LoggerOptions{Output: &out, Level: hclog.Trace, JSONFormat: true}).Debug("json", "password", s, "policy", basePolicy())
	slog.New(slog.NewTextHandler(&out, nil)).Info("slog", "password", s)
	if strings.Contains(out.String(), secret) {
		t.Fatalf("secret printed:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "[redacted]") {
		t.Fatalf("nothing redacted:\n%s", out.String())
	}
	if s.Reveal() != secret {
		t.Error("Reveal lost the value")
	}
	if quaymirror.Secret("").String() != "" {
		t.Error("an empty secret should print empty")
	}
}

func TestReportsAndLogsCarryNoSecret(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.source(t, "new", "drifted", "broken")
	must(t, w.dst.AddRepository(quaymirror.Repository{Namespace: org, Name: "drifted", State: quaymirror.StateMirror}))
	old := desired("drifted")
	old.Username = "previous"
	must(t, w.dst.PutMirror(org, "drifted", mirrorOf(old, quaymirror.SyncSuccess)))
	w.dst.FailOn("CreateRepository", org, "broken", fmt.Errorf("server said %s", "no"))
	var logs bytes.Buffer
	p := basePolicy()
	p.Recreate = true
	e := w.engine(t, p, quaymirror.WithLogger(hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Trace})))
	plan, err := e.Plan(context.Background())
	must(t, err)
	dry, _ := json.Marshal(plan.DryRun())
	planJSON, _ := json.Marshal(plan)
	rep, err := e.Apply(context.Background(), plan)
	must(t, err)
	repJSON, _ := json.Marshal(rep)
	all := string(dry) + string(planJSON) + string(repJSON) + logs.String() +
		fmt.Sprintf("%+v %+v %v %+v %#v %+v", plan, rep, e, e, e, *plan)
	if strings.Contains(all, secret) {
		t.Fatalf("the password leaked:\n%s", all)
	}
	if !strings.Contains(string(repJSON), `"external_registry_password"`) {
		t.Errorf("the report does not even mention the password change: %s", repJSON)
	}
	if m, _ := w.dst.Mirror(org, "drifted"); m.Config.Password != secret {
		t.Error("the password was not written")
	}
}
