package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/quaymirror/quaymirror/internal/demo"
	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/quay/quaytest"
)

// Org is the organisation mirrored by the benchmark, at both sides.
const Org = "bench"

// ChildEnv is the environment variable that turns a process into the
// emulators' child (see Subprocess and ServeChild). Its value is the
// EmulatorSpec in JSON.
const ChildEnv = "QUAYMIRROR_BENCH_EMULATORS"

// EmulatorSpec describes the two emulated registries of a scenario.
type EmulatorSpec struct {
	// Repos is the number of source repositories (Org/repo-00000, ...).
	// The destination starts with the organisation and its robot only.
	Repos int `json:"repos"`
	// Latency delays every request at both sides.
	Latency time.Duration `json:"latency"`
	// Limit, when positive, puts the rate limit of Quay's bundled nginx
	// in front of each emulator: Limit requests per second with a burst
	// of LimitBurst served at once ("limit_req ... burst=N nodelay"),
	// the rest refused with 429 and no Retry-After, as nginx does.
	Limit      float64 `json:"limit,omitempty"`
	LimitBurst int     `json:"limit_burst,omitempty"`
	// Tags is the number of tags of each source repository (see
	// sourceTags).
	Tags int `json:"tags,omitempty"`
}

// Counts is what one emulator saw since its counters were last reset.
type Counts struct {
	// Requests counts requests by "METHOD /route/template", as
	// quaytest.Emulator.Requests does.
	Requests map[string]int `json:"requests"`
	// Connections counts the TCP connections the emulator accepted.
	Connections int `json:"connections"`
	// Rejected counts the requests the emulated nginx rate limit refused
	// with 429 before they reached the emulator (see EmulatorSpec.Limit).
	Rejected int `json:"rejected,omitempty"`
}

// childCounts is what the control endpoint answers.
type childCounts struct {
	Source, Destination Counts
	// CPU is the CPU time the emulators' process used.
	CPU time.Duration
}

// Emulators is a running source and destination.
type Emulators struct {
	SourceURL, DestinationURL string
	// InProcess is set when the emulators share this process (and its
	// heap).
	InProcess bool

	counts  func(context.Context) (childCounts, error)
	reset   func(context.Context) error
	change  func(ctx context.Context, what, name string) error
	mirrors func(context.Context) error
	close   func() error
}

// AddSource adds repository name to the source organisation, as someone
// pushing a new repository there.
func (e *Emulators) AddSource(ctx context.Context, name string) error {
	return e.change(ctx, "add", name)
}

// Drift changes the mirror configuration of name at the destination by
// hand: another sync interval and tag glob than the policy's.
func (e *Emulators) Drift(ctx context.Context, name string) error {
	return e.change(ctx, "drift", name)
}

// RunMirrors plays the destination's mirror workers once: every mirror
// due or asked to sync copies its source's tags, as Quay's would.
func (e *Emulators) RunMirrors(ctx context.Context) error { return e.mirrors(ctx) }

// Counts returns what the source and the destination saw since the last
// Reset, and the CPU time the emulators used meanwhile (zero when they
// run in this process).
func (e *Emulators) Counts(ctx context.Context) (src, dst Counts, cpu time.Duration, err error) {
	c, err := e.counts(ctx)
	return c.Source, c.Destination, c.CPU, err
}

// Reset zeroes both emulators' counters.
func (e *Emulators) Reset(ctx context.Context) error { return e.reset(ctx) }

// Close stops the emulators.
func (e *Emulators) Close() error { return e.close() }

// A Launcher starts the emulators of a spec.
type Launcher func(ctx context.Context, spec EmulatorSpec) (*Emulators, error)

// InProcess starts the emulators in this process. Their heap then counts
// in the peak heap measured.
func InProcess(_ context.Context, spec EmulatorSpec) (*Emulators, error) {
	p, err := startPair(spec)
	if err != nil {
		return nil, err
	}
	return &Emulators{
		SourceURL:      p.src.url,
		DestinationURL: p.dst.url,
		InProcess:      true,
		counts: func(context.Context) (childCounts, error) {
			src, dst := p.counts()
			return childCounts{Source: src, Destination: dst}, nil
		},
		reset:   func(context.Context) error { p.reset(); return nil },
		change:  func(_ context.Context, what, name string) error { return p.change(what, name) },
		mirrors: func(context.Context) error { return p.runMirrors() },
		close:   func() error { p.close(); return nil },
	}, nil
}

// Subprocess returns a launcher that runs argv (a program that calls
// ServeChild when ChildEnv is set: `quaymirror-bench` does, and so do this
// package's tests) with environ plus ChildEnv, and talks to it over a
// control endpoint on loopback. The child exits when its standard input
// closes, so it never outlives this process. Its standard error is copied
// to stderr (nil discards it).
func Subprocess(argv, environ []string, stderr io.Writer) Launcher {
	return func(ctx context.Context, spec EmulatorSpec) (*Emulators, error) {
		if len(argv) == 0 {
			return nil, errors.New("bench: no command to run the emulators")
		}
		js, err := json.Marshal(spec)
		if err != nil {
			return nil, err
		}
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = append(append([]string(nil), environ...), ChildEnv+"="+string(js))
		cmd.Stderr = stderr
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return nil, err
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("bench: starting the emulators: %w", err)
		}
		// Wait only once stdout is drained (exec's rule for pipes), which
		// also keeps the child's last words, such as its error line.
		waited := make(chan error, 1)
		stop := func() error {
			_ = stdin.Close()
			select {
			case err := <-waited:
				return err
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				return <-waited
			}
		}

		type hello struct {
			addrs
			Err string `json:"error"`
		}
		lines := make(chan hello, 1)
		go func() {
			var h hello
			if err := json.NewDecoder(bufio.NewReader(stdout)).Decode(&h); err != nil {
				h.Err = "no address line from the emulators' process: " + err.Error()
			}
			lines <- h
			_, _ = io.Copy(io.Discard, stdout)
			waited <- cmd.Wait()
		}()
		var h hello
		select {
		case h = <-lines:
		case <-ctx.Done():
			_ = stop()
			return nil, ctx.Err()
		case <-time.After(5 * time.Minute):
			h.Err = "the emulators' process did not start within 5 minutes"
		}
		if h.Err != "" {
			_ = stop()
			return nil, fmt.Errorf("bench: %s", h.Err)
		}
		ctl := &http.Client{Timeout: time.Minute}
		return &Emulators{
			SourceURL:      h.Source,
			DestinationURL: h.Destination,
			counts: func(ctx context.Context) (c childCounts, err error) {
				err = control(ctx, ctl, http.MethodGet, h.Control+"/counts", &c)
				return c, err
			},
			reset: func(ctx context.Context) error {
				return control(ctx, ctl, http.MethodPost, h.Control+"/reset", nil)
			},
			change: func(ctx context.Context, what, name string) error {
				return control(ctx, ctl, http.MethodPost, h.Control+"/"+what+"?name="+url.QueryEscape(name), nil)
			},
			mirrors: func(ctx context.Context) error {
				return control(ctx, ctl, http.MethodPost, h.Control+"/mirrors", nil)
			},
			close: stop,
		}, nil
	}
}

func control(ctx context.Context, c *http.Client, method, url string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("bench: emulators' control endpoint: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("bench: emulators' control endpoint: %s %s: %s", method, url, resp.Status)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// addrs is the first line the child writes.
type addrs struct {
	Source      string `json:"source"`
	Destination string `json:"destination"`
	Control     string `json:"control"`
}

// ServeChild is the emulators' child process: it starts the emulators of
// the spec in value (ChildEnv's JSON), writes their addresses and the
// control endpoint's as one JSON line to stdout, serves until stdin
// closes, and returns the process's exit code.
func ServeChild(value string, stdin io.Reader, stdout, stderr io.Writer) int {
	fail := func(err error) int {
		_ = json.NewEncoder(stdout).Encode(map[string]string{"error": err.Error()})
		fmt.Fprintf(stderr, "bench emulators: %v\n", err)
		return 1
	}
	var spec EmulatorSpec
	if err := json.Unmarshal([]byte(value), &spec); err != nil {
		return fail(fmt.Errorf("%s: %w", ChildEnv, err))
	}
	p, err := startPair(spec)
	if err != nil {
		return fail(err)
	}
	defer p.close()
	var cpuMu sync.Mutex
	cpuStart := processCPU()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /counts", func(w http.ResponseWriter, _ *http.Request) {
		src, dst := p.counts()
		cpuMu.Lock()
		cpu := processCPU() - cpuStart
		cpuMu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(childCounts{src, dst, cpu})
	})
	mux.HandleFunc("POST /reset", func(http.ResponseWriter, *http.Request) {
		p.reset()
		cpuMu.Lock()
		cpuStart = processCPU()
		cpuMu.Unlock()
	})
	for _, what := range []string{"add", "drift"} {
		mux.HandleFunc("POST /"+what, func(w http.ResponseWriter, r *http.Request) {
			if err := p.change(what, r.URL.Query().Get("name")); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
			}
		})
	}
	mux.HandleFunc("POST /mirrors", func(w http.ResponseWriter, _ *http.Request) {
		if err := p.runMirrors(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	ctl, err := serve(mux, nil)
	if err != nil {
		return fail(err)
	}
	defer ctl.close()
	if err := json.NewEncoder(stdout).Encode(addrs{p.src.url, p.dst.url, ctl.url}); err != nil {
		return 1
	}
	_, _ = io.Copy(io.Discard, stdin) // until the parent closes it or exits
	return 0
}

// pair is a source and a destination emulator served on loopback.
type pair struct {
	env      *demo.Env
	src, dst *server
}

// startPair seeds the two registries with demo.Start and serves their
// emulators on listeners of its own, which count connections. (demo's own
// listeners stay idle.)
func startPair(spec EmulatorSpec) (*pair, error) {
	if spec.Repos < 0 || spec.Latency < 0 || spec.Limit < 0 || (spec.Limit > 0 && spec.LimitBurst < 1) || spec.Tags < 0 {
		return nil, fmt.Errorf("bench: invalid emulator spec %+v", spec)
	}
	faults := quaytest.Faults{Latency: spec.Latency}
	repos := demo.Repositories(Org, "repo", spec.Repos)
	if spec.Tags > 0 {
		tags := sourceTags(spec.Tags)
		for i := range repos {
			repos[i].Tags = tags
		}
	}
	env, err := demo.Start(demo.Options{
		Orgs:              []demo.Org{{Name: Org, Repositories: repos}},
		SourceFaults:      faults,
		DestinationFaults: faults,
	})
	if err != nil {
		return nil, err
	}
	p := &pair{env: env}
	if p.src, err = serveEmulator(env.Source.Emulator, spec); err == nil {
		p.dst, err = serveEmulator(env.Destination.Emulator, spec)
	}
	if err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

func (p *pair) counts() (src, dst Counts) { return p.src.counts(), p.dst.counts() }

// change adds a repository at the source ("add") or changes a mirror's
// configuration at the destination by hand ("drift").
func (p *pair) change(what, name string) error {
	switch what {
	case "add":
		return p.env.Source.Fake.AddRepository(quaymirror.Repository{Namespace: Org, Name: name, Visibility: quaymirror.Private})
	case "drift":
		dst := p.env.Destination.Fake
		m, ok := dst.Mirror(Org, name)
		if !ok {
			return fmt.Errorf("bench: %s/%s has no mirror to change", Org, name)
		}
		m.Config.SyncInterval += time.Hour
		m.Config.TagGlobs = []string{"changed-by-hand-*"}
		return dst.PutMirror(Org, name, m)
	}
	return fmt.Errorf("bench: unknown change %q", what)
}

func (p *pair) reset() {
	p.src.reset()
	p.dst.reset()
}

func (p *pair) close() {
	if p.src != nil {
		p.src.close()
	}
	if p.dst != nil {
		p.dst.close()
	}
	p.env.Close()
}

// server serves a handler on loopback and counts the connections it
// accepts.
type server struct {
	url      string
	srv      *http.Server
	em       *quaytest.Emulator
	conns    atomic.Int64
	rejected atomic.Int64
}

// serveEmulator serves em, behind the nginx rate limit of the spec if it
// has one.
func serveEmulator(em *quaytest.Emulator, spec EmulatorSpec) (*server, error) {
	if spec.Limit <= 0 {
		return serve(em, em)
	}
	lim := rate.NewLimiter(rate.Limit(spec.Limit), spec.LimitBurst)
	var s *server
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !lim.Allow() {
			s.rejected.Add(1)
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = io.WriteString(w, nginx429)
			return
		}
		em.ServeHTTP(w, r)
	})
	s, err := serve(h, em)
	return s, err
}

// nginx429 is nginx's page for limit_req_status 429.
const nginx429 = "<html>\r\n<head><title>429 Too Many Requests</title></head>\r\n<body>\r\n" +
	"<center><h1>429 Too Many Requests</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"

func serve(h http.Handler, em *quaytest.Emulator) (*server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &server{url: "http://" + l.Addr().String(), em: em}
	s.srv = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				s.conns.Add(1)
			}
		},
	}
	go func() { _ = s.srv.Serve(l) }()
	return s, nil
}

func (s *server) counts() Counts {
	c := Counts{Connections: int(s.conns.Load()), Rejected: int(s.rejected.Load())}
	if s.em != nil {
		c.Requests = s.em.Requests()
	}
	return c
}

func (s *server) reset() {
	s.conns.Store(0)
	s.rejected.Store(0)
	if s.em != nil {
		s.em.ResetCounters()
	}
}

func (s *server) close() { _ = s.srv.Close() }

// total is the number of requests in c.
func (c Counts) total() int {
	n := 0
	for _, v := range c.Requests {
		n += v
	}
	return n
}
