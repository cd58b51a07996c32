package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/quaymirror/quaymirror/internal/demo"
	"github.com/quaymirror/quaymirror/quaymirror"
)

// sliceReport is the part of the JSON report about slices.
type sliceReport struct {
	Organizations []struct {
		Slice        int `json:"slice"`
		Slices       int `json:"slices"`
		Checked      int `json:"checked"`
		Unchecked    int `json:"unchecked"`
		Unchanged    int `json:"unchanged"`
		Repositories []struct {
			Name    string `json:"name"`
			Action  string `json:"action"`
			Outcome string `json:"outcome"`
		} `json:"repositories"`
	} `json:"organizations"`
}

// FULL_CHECK_EVERY, --tick and --full through the CLI: the JSON report
// says the slice, the repositories outside it are unchecked (never
// unchanged), and the exit code does not care.
func TestSlicesThroughTheCLI(t *testing.T) {
	t.Parallel()
	const org, n = "slices", 30
	d := startDemo(t, demo.Org{Name: org, Repositories: demo.Repositories(org, "repo", n)})
	env := d.Environ("ORGANIZATIONS="+org, "FULL_CHECK_EVERY=4")
	if r := run(t, env, "sync", "--full"); r.code != ExitOK || !strings.Contains(r.stdout, "30 created") {
		t.Fatalf("first sync = %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	decode := func(r result) sliceReport {
		t.Helper()
		var rep sliceReport
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || len(rep.Organizations) != 1 {
			t.Fatalf("exit %d, %v: %s%s", r.code, err, r.stdout, r.stderr)
		}
		return rep
	}
	inSlice := 0
	for i := range n {
		if quaymirror.SliceOf(demo.Repositories(org, "repo", n)[i].Name, 4) == 3 {
			inSlice++
		}
	}
	for _, cmd := range []string{"plan", "sync"} {
		r := run(t, env, cmd, "--tick", "7", "-o", "json")
		o := decode(r).Organizations[0]
		if r.code != ExitOK || o.Slices != 4 || o.Slice != 3 || o.Checked != inSlice || o.Unchanged != inSlice || o.Unchecked != n-inSlice {
			t.Errorf("%s --tick 7: exit %d, slice %d of %d, %d checked, %d unchanged, %d unchecked; want slice 3 of 4, %d checked",
				cmd, r.code, o.Slice, o.Slices, o.Checked, o.Unchanged, o.Unchecked, inSlice)
		}
		for _, repo := range o.Repositories {
			in := quaymirror.SliceOf(repo.Name, 4) == 3
			if in != (repo.Action == "unchanged") || !in && (repo.Action != "unchecked" || repo.Outcome != "unchecked") {
				t.Errorf("%s --tick 7: %s in the slice %v: %s/%s", cmd, repo.Name, in, repo.Action, repo.Outcome)
			}
		}
	}
	r := run(t, env, "sync", "--tick", "7")
	if r.code != ExitOK || !strings.Contains(r.stdout, "checked slice 3 of 4") || !strings.Contains(r.stdout, "unchecked") {
		t.Errorf("sync --tick 7 text = %d\n%s", r.code, r.stdout)
	}
	if o := decode(run(t, env, "sync", "--full", "-o", "json")).Organizations[0]; o.Slices != 1 || o.Checked != n || o.Unchecked != 0 {
		t.Errorf("sync --full: slice %d of %d, %d checked", o.Slice, o.Slices, o.Checked)
	}

	var health struct {
		Organizations []*quaymirror.Health `json:"organizations"`
	}
	r = run(t, env, "status", "--tick", "5", "-o", "json")
	if err := json.Unmarshal([]byte(r.stdout), &health); err != nil || health.Organizations[0].Slices != 4 || health.Organizations[0].Slice != 1 ||
		health.Organizations[0].Mirrors != n || health.Organizations[0].Checked >= n {
		t.Errorf("status --tick 5 = %d %v: %s", r.code, err, r.stdout)
	}
	r = run(t, env, "status", "--full", "-o", "json")
	if err := json.Unmarshal([]byte(r.stdout), &health); err != nil || health.Organizations[0].Slices != 1 || health.Organizations[0].Checked != n {
		t.Errorf("status --full = %d %v: %s", r.code, err, r.stdout)
	}

	// Bad usage: exit 2 and one line, before any request.
	d.Destination.Emulator.ResetCounters()
	for _, args := range [][]string{{"sync", "--full", "--tick", "3"}, {"plan", "--tick", "soon"}, {"status", "--tick", "-1"}} {
		r := run(t, env, args...)
		if r.code != ExitUsage || strings.Count(r.stderr, "\n") != 1 || r.stdout != "" {
			t.Errorf("%v = %d, stderr %q", args, r.code, r.stderr)
		}
	}
	for _, bad := range []string{"FULL_CHECK_EVERY=-1", "TICK_PERIOD=0"} {
		if r := run(t, d.Environ("ORGANIZATIONS="+org, bad), "sync"); r.code != ExitUsage || !strings.Contains(r.stderr, strings.Split(bad, "=")[0]+": ") {
			t.Errorf("%s: %d %q", bad, r.code, r.stderr)
		}
	}
	if reqs := d.Destination.Emulator.Requests(); len(reqs) != 0 {
		t.Errorf("bad usage sent requests: %v", reqs)
	}
}
