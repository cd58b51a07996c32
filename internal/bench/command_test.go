package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func runBench(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Main(context.Background(), args, nil, &out, &errOut)
	return code, out.String(), errOut.String()
}

// A small bench with the emulators in process: it runs, prints the table
// and the goals. (The measured figures are not asserted: see
// internal/bench for the counts.)
func TestBenchSmoke(t *testing.T) {
	t.Parallel()
	code, out, errOut := runBench(t, "--scenarios", "120x4,120x8@2000", "--latency", "1ms", "--in-process")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"120x4", "120x8@2000", "Calls by route, 120 repositories", "Goals:", "steady state: zero writes"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "120x4") {
		t.Errorf("no progress on stderr:\n%s", errOut)
	}
}

func TestBenchJSON(t *testing.T) {
	t.Parallel()
	code, out, errOut := runBench(t, "--scenarios", "120x4", "--latency", "0", "--in-process", "--sync-now=false", "--output", "json")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	var doc struct {
		Results []struct {
			Repos   int  `json:"repos"`
			SyncNow bool `json:"sync_now"`
			First   struct {
				Outcome struct {
					Created int `json:"created"`
				} `json:"outcome"`
			} `json:"first"`
		} `json:"results"`
		Goals []struct {
			Name string `json:"name"`
			Met  bool   `json:"met"`
		} `json:"goals"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, out)
	}
	if len(doc.Results) != 1 || doc.Results[0].Repos != 120 || doc.Results[0].SyncNow || doc.Results[0].First.Outcome.Created != 120 || len(doc.Goals) == 0 {
		t.Errorf("JSON results %+v", doc)
	}
}

func TestBenchUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--concurrency", "4"},
		{"--qps", "10"},
		{"--scenarios", "many"},
		{"--server-limit", "5"},
		{"--latency", "-1ms"},
	} {
		code, _, errOut := runBench(t, args...)
		if code != 2 || !strings.Contains(errOut, "quaymirror-bench: ") {
			t.Errorf("bench %v: exit %d, stderr %q; want a usage error", args, code, errOut)
		}
	}
	code, out, _ := runBench(t, "--help")
	if code != 0 || !strings.Contains(out, "--scenarios") {
		t.Errorf("--help: exit %d\n%s", code, out)
	}
}
