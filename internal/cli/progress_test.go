package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/vbauerster/mpb/v8"

	"github.com/quaymirror/quaymirror/quaymirror"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Off a terminal, progress is one JSON log line per organisation that
// moved, at every tick of an injected ticker: phase, counts, rate and
// time left, from an injected clock.
func TestProgressLogLines(t *testing.T) {
	t.Parallel()
	var out syncBuffer
	logger := hclog.New(&hclog.LoggerOptions{Output: &out, JSONFormat: true, Level: hclog.Info})
	now := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	ticks := make(chan time.Time)
	l := newLogProgress(logger, ticks, clock)

	l.report("acme", quaymirror.Progress{Phase: "list", Listed: 300})
	l.report("beta", quaymirror.Progress{Phase: "list", Listed: 100})
	advance(10 * time.Second)
	l.report("acme", quaymirror.Progress{Phase: "sync", Done: 200, Total: 1000})
	ticks <- now
	ticks <- now // the first flush is done once the second tick is taken
	advance(10 * time.Second)
	l.report("acme", quaymirror.Progress{Phase: "sync", Done: 400, Total: 1000})
	ticks <- now
	l.close()

	var lines []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON log line: %q", line)
		}
		lines = append(lines, m)
	}
	want := []map[string]any{
		{"organization": "acme", "phase": "sync", "done": 200.0, "total": 1000.0, "per_second": 20.0, "eta_seconds": 40.0},
		{"organization": "beta", "phase": "list", "listed": 100.0, "done": 0.0},
		{"organization": "acme", "phase": "sync", "done": 400.0, "total": 1000.0, "per_second": 20.0, "eta_seconds": 30.0},
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), out.String())
	}
	for i, w := range want {
		if lines[i]["@message"] != "progress" {
			t.Errorf("line %d: %v", i, lines[i])
		}
		for k, v := range w {
			if lines[i][k] != v {
				t.Errorf("line %d: %s = %v, want %v (%v)", i, k, lines[i][k], v, lines[i])
			}
		}
	}
}

// On a terminal, each organisation gets a bar drawn by mpb; what the
// logger writes meanwhile goes through the display, and straight to the
// terminal again once it is closed.
func TestProgressBars(t *testing.T) {
	t.Parallel()
	var term syncBuffer
	logOut := &switchWriter{base: &term}
	b := newBarProgress(&term, logOut, mpb.ContainerOption(mpb.ForceAutoRefresh()), mpb.WithRefreshRate(time.Millisecond))
	b.report("acme", quaymirror.Progress{Phase: "list", Listed: 100})
	b.report("acme", quaymirror.Progress{Phase: "sync", Done: 1, Total: 3})
	b.report("beta", quaymirror.Progress{Phase: "sync", Done: 1, Total: 2})
	_, _ = logOut.Write([]byte("a warning\n"))
	b.report("acme", quaymirror.Progress{Phase: "sync", Done: 3, Total: 3})
	b.close() // beta never finished: its bar is stopped
	_, _ = logOut.Write([]byte("after the bars\n"))
	got := term.String()
	for _, want := range []string{"acme", "sync  3/3", "done", "beta", "sync  1/2", "a warning", "after the bars"} {
		if !strings.Contains(got, want) {
			t.Errorf("the display lacks %q:\n%s", want, got)
		}
	}
	if !strings.HasSuffix(got, "after the bars\n") {
		t.Errorf("a line logged after close is not written last:\n%q", got)
	}
}
