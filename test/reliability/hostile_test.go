package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quaymirror/quaymirror/internal/demo"
	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/quay"
	"github.com/quaymirror/quaymirror/registry/quay/quaytest"
)

const getMirror = "GET /api/v1/repository/{repo}/mirror"

// hostileOrg has n repositories, every one already mirrored at the
// destination with an old tag glob: planning reads each mirror, applying
// updates each.
func hostileOrg(name string, n int) demo.Org { return downOrg(name, n, n) }

// hostileRun syncs hostileOrg through a destination whose answers pass
// through wrap, after the emulator has been given the faults. It checks
// that exactly one repository failed and the others converged, and
// returns the failure and the run.
func hostileRun(t *testing.T, faults []quaytest.Fault, wrap func(http.Handler) http.Handler, extra ...string) (quaymirror.Result, result) {
	t.Helper()
	const org, n = "hostile", 8
	d := startDemo(t, demo.Options{Orgs: []demo.Org{hostileOrg(org, n)}})
	fixReferences(t, d, org)
	for _, f := range faults {
		must(t, d.Destination.Emulator.Inject(f))
	}
	var h http.Handler = d.Destination.Emulator
	if wrap != nil {
		h = wrap(h)
	}
	dst := serve(t, h)
	r := runCLI(context.Background(), d.Environ(append([]string{"OUTPUT=json", "DESTINATION_REGISTRY=" + dst.URL}, extra...)...), "sync")
	run := decodeRun(t, r)
	c := totals(run)
	if r.code != 1 || c.Failed != 1 || c.Updated != n-1 {
		t.Fatalf("want exit 1, one repository failed and the %d others updated: %+v\n%s", n-1, c, r)
	}
	var failed quaymirror.Result
	for _, res := range run.Organizations[0].Repositories {
		if res.Outcome == quaymirror.OutcomeFailed {
			failed = res
		}
	}
	if len(failed.Error) > 2000 || strings.Contains(failed.Error, "\n") {
		t.Errorf("the error is not one bounded line (%d bytes): %.300q", len(failed.Error), failed.Error)
	}
	return failed, r
}

// Each hostile answer to one call fails that call with a bounded error,
// within the request timeout, and the run goes on with the other
// repositories.
func TestHostileAnswersFailOnlyTheirCall(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		fault quaytest.Fault
		want  string // in the repository's error
	}{
		{"invalid JSON", quaytest.Fault{Kind: quaytest.FaultInvalidJSON}, "invalid JSON"},
		{"truncated body", quaytest.Fault{Kind: quaytest.FaultTruncate}, "truncated"},
		{"200 with an empty body", quaytest.Fault{Kind: quaytest.FaultEmptyBody}, "empty answer"},
		{"slow loris body", quaytest.Fault{Kind: quaytest.FaultSlow, Interval: 200 * time.Millisecond, Chunk: 1}, "deadline exceeded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fault.Route = getMirror
			failed, r := hostileRun(t, []quaytest.Fault{tc.fault}, nil, "REQUEST_TIMEOUT=2s")
			if !strings.Contains(failed.Error, tc.want) {
				t.Errorf("error %q does not say %q", failed.Error, tc.want)
			}
			if r.elapsed > time.Minute {
				t.Errorf("the run took %s", r.elapsed)
			}
		})
	}
}

// A server that never sends the headers of one repository's answers (slow
// loris before the status line) costs that repository its retries
// (quay.DefaultMaxRetries), each bounded by the request timeout; the others
// converge.
func TestStalledAnswersAreBoundedByTheRequestTimeout(t *testing.T) {
	t.Parallel()
	var stalled atomic.Int64
	failed, r := hostileRun(t, nil, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if req.Method == http.MethodGet && strings.HasSuffix(req.URL.Path, "/repo-00003/mirror") {
				stalled.Add(1)
				<-req.Context().Done() // until the client gives up
				return
			}
			next.ServeHTTP(w, req)
		})
	}, "REQUEST_TIMEOUT=1s")
	if want := int64(1 + quay.DefaultMaxRetries); failed.Name != "repo-00003" || stalled.Load() != want {
		t.Errorf("failed %s after %d attempts, want repo-00003 after %d", failed.Name, stalled.Load(), want)
	}
	// The attempts of one second each (the retries do not wait: runCLI).
	if r.elapsed > 2*time.Minute {
		t.Errorf("the run took %s", r.elapsed)
	}
}

// A 50 MB answer is refused at the body cap without being read whole: the
// run's allocations stay well under the body's size. Not parallel, so that
// no other test allocates meanwhile.
func TestHugeAnswerIsNotReadWhole(t *testing.T) {
	const size = 50 << 20
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before := ms.TotalAlloc
	failed, r := hostileRun(t, []quaytest.Fault{{Kind: quaytest.FaultOversize, Route: getMirror, Size: size}}, nil)
	runtime.ReadMemStats(&ms)
	allocated := ms.TotalAlloc - before
	if !strings.Contains(failed.Error, "larger than") {
		t.Errorf("error %q does not say the answer was too large", failed.Error)
	}
	if allocated > size*3/4 {
		t.Errorf("the run allocated %d MB for a %d MB answer: it was read whole", allocated>>20, size>>20)
	}
	t.Logf("a %d MB answer: %d MB allocated by the whole run (emulators included), %s", size>>20, allocated>>20, r.elapsed.Round(time.Millisecond))
}

// A huge error answer, a deeply nested JSON answer and an HTML page with a
// 200 fail only their call too.
func TestMalformedAnswersFailOnlyTheirCall(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, want string
		status     int
		body       func() []byte
	}{
		{"50 MB error body", "Internal Server Error", http.StatusInternalServerError, func() []byte {
			return append([]byte(`{"detail": "`), bytes.Repeat([]byte("x"), 50<<20)...)
		}},
		{"nested JSON", "invalid JSON", http.StatusOK, func() []byte { return bytes.Repeat([]byte("["), 1<<20) }},
		{"HTML with 200", "invalid JSON", http.StatusOK, func() []byte { return []byte("<html><body>Sign in</body></html>") }},
		{"JSON of another shape", "no external_reference", http.StatusOK, func() []byte { return []byte(`{"repositories": []}`) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var once atomic.Bool
			failed, _ := hostileRun(t, nil, func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
					if req.Method == http.MethodGet && strings.HasPrefix(req.URL.Path, "/api/v1/repository/") && strings.HasSuffix(req.URL.Path, "/mirror") &&
						once.CompareAndSwap(false, true) {
						w.Header().Set("Content-Type", "application/json")
						w.WriteHeader(tc.status)
						_, _ = w.Write(tc.body())
						return
					}
					next.ServeHTTP(w, req)
				})
			})
			if !strings.Contains(failed.Error, tc.want) {
				t.Errorf("error %.300q does not say %q", failed.Error, tc.want)
			}
		})
	}
}

// listingPage is one page of GET /api/v1/repository.
type listingPage struct {
	Repositories []map[string]any `json:"repositories"`
	NextPage     string           `json:"next_page,omitempty"`
}

// A destination listing that never ends (the same page again, a cycle of
// page tokens, empty pages) stops with an error for that organisation
// after a few pages; the other organisation converges.
func TestEndlessListingsStop(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// page answers request number i (from 0) of the looping
		// organisation's listing, given the real first page.
		page func(i int, first listingPage) listingPage
	}{
		{"a page hands out its own token", func(_ int, first listingPage) listingPage {
			first.NextPage = "again"
			return first
		}},
		{"the first page again under new tokens", func(i int, first listingPage) listingPage {
			first.NextPage = fmt.Sprintf("token-%d", i)
			return first
		}},
		{"empty pages cycling over two tokens", func(i int, _ listingPage) listingPage {
			return listingPage{Repositories: []map[string]any{}, NextPage: []string{"ping", "pong"}[i%2]}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := startDemo(t, demo.Options{Orgs: []demo.Org{hostileOrg("loop", 3), hostileOrg("fine", 3)}})
			fixReferences(t, d, "loop")
			fixReferences(t, d, "fine")
			var pages atomic.Int64
			dst := serve(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				if req.URL.Path != "/api/v1/repository" || req.URL.Query().Get("namespace") != "loop" {
					d.Destination.Emulator.ServeHTTP(w, req)
					return
				}
				i := int(pages.Add(1)) - 1
				// The real first page, then the hostile ones.
				rec := httptest.NewRecorder()
				first := req.Clone(req.Context())
				q := first.URL.Query()
				q.Del("next_page")
				first.URL.RawQuery = q.Encode()
				d.Destination.Emulator.ServeHTTP(rec, first)
				var page listingPage
				must(t, json.Unmarshal(rec.Body.Bytes(), &page))
				if i > 0 || req.URL.Query().Has("next_page") {
					page = tc.page(i, page)
				} else {
					page.NextPage = tc.page(i, page).NextPage
				}
				w.Header().Set("Content-Type", "application/json")
				_ = json.NewEncoder(w).Encode(page)
			}))
			r := runCLI(context.Background(), d.Environ("OUTPUT=json", "DESTINATION_REGISTRY="+dst.URL), "sync")
			run := decodeRun(t, r)
			if r.code != 1 || len(run.Organizations) != 2 || !strings.Contains(run.Organizations[0].Error, "listing") ||
				run.Organizations[1].Error != "" || run.Organizations[1].Updated != 3 {
				t.Fatalf("want the looping organization failed, the other updated:\n%s", r)
			}
			// The preflight reads the first page once; planning must
			// notice within a few more.
			if n := pages.Load(); n > 10 {
				t.Errorf("the listing was read %d times before the loop was noticed", n)
			}
			t.Logf("%d listing requests; %s", pages.Load(), run.Organizations[0].Error)
		})
	}
}
