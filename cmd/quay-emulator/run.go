package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/quaymirror/quaymirror/registry/fake"
	"github.com/quaymirror/quaymirror/registry/quay/quaytest"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// config is what the flags say.
type config struct {
	listen, seed, version, adminToken string
	features                          quaytest.Features
	ssrfAllow, faultRoutes            string
	readOnly                          bool
	tokenTTL                          time.Duration
	faults                            quaytest.Faults
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("quay-emulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: quay-emulator [flags]\n\nServes an emulated Quay API; prints its URL on the first line of standard output.\n\nFlags:")
		fs.PrintDefaults()
	}
	var c config
	def := quaytest.DefaultFeatures()
	fs.StringVar(&c.listen, "listen", "127.0.0.1:0", "`address` to listen on (port 0: any free port)")
	fs.StringVar(&c.seed, "seed", "", "JSON seed `file`: organisations, robots, repositories, mirrors, users, tokens")
	fs.StringVar(&c.version, "version", quaytest.V3_17.String(), "Quay `version` to emulate (3.6, 3.15, 3.17, 3.18 or MAJOR.MINOR.PATCH)")
	fs.StringVar(&c.adminToken, "admin-token", "", "add user \"admin\", administrator of every organisation, with this bearer `token`")
	fs.BoolVar(&c.features.RepoMirror, "repo-mirror", def.RepoMirror, "FEATURE_REPO_MIRROR")
	fs.BoolVar(&c.features.OrgMirror, "org-mirror", def.OrgMirror, "FEATURE_ORG_MIRROR (3.17+)")
	fs.BoolVar(&c.features.SparseIndex, "sparse-index", def.SparseIndex, "FEATURE_SPARSE_INDEX (needed by a non-empty architecture filter)")
	fs.BoolVar(&c.features.AnonymousAccess, "anonymous-access", def.AnonymousAccess, "FEATURE_ANONYMOUS_ACCESS")
	fs.BoolVar(&c.features.SuperusersFullAccess, "superusers-full-access", def.SuperusersFullAccess, "FEATURE_SUPERUSERS_FULL_ACCESS")
	fs.StringVar(&c.ssrfAllow, "ssrf-allowed-hosts", "", "comma-separated SSRF_ALLOWED_HOSTS (`hosts and CIDRs`)")
	fs.BoolVar(&c.readOnly, "read-only", false, "answer every write 503 read-only")
	fs.DurationVar(&c.tokenTTL, "page-token-ttl", quaytest.DefaultPageTokenTTL, "lifetime of next_page tokens")
	fs.Int64Var(&c.faults.Seed, "fault-seed", 0, "seed of the random faults")
	fs.DurationVar(&c.faults.Latency, "latency", 0, "added to every request")
	fs.DurationVar(&c.faults.Jitter, "jitter", 0, "random extra latency, up to this")
	fs.Float64Var(&c.faults.ErrorRate, "error-rate", 0, "fraction of requests answered with -error-status")
	fs.IntVar(&c.faults.ErrorStatus, "error-status", 503, "status of injected errors (5xx)")
	fs.Float64Var(&c.faults.ResetRate, "reset-rate", 0, "fraction of requests whose connection is reset")
	fs.Float64Var(&c.faults.RateLimitRate, "ratelimit-rate", 0, "fraction of requests starting a burst of 429s")
	fs.IntVar(&c.faults.RateLimitBurst, "ratelimit-burst", 1, "length of a burst of 429s")
	fs.DurationVar(&c.faults.RetryAfter, "retry-after", 0, "Retry-After sent with 429s (0: none, as nginx)")
	fs.StringVar(&c.faultRoutes, "fault-routes", "", "comma-separated `routes` the random faults apply to, e.g. \"GET /api/v1/repository\" (default all)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return c, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	c.features.SSRFAllowedHosts = splitList(c.ssrfAllow)
	c.faults.Routes = splitList(c.faultRoutes)
	return c, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// run is the whole command: it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := parseFlags(args, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case err != nil:
		fmt.Fprintln(stderr, "quay-emulator:", err)
		return exitUsage
	}
	em, err := build(c)
	if err != nil {
		fmt.Fprintln(stderr, "quay-emulator:", err)
		return exitError
	}
	if err := serve(ctx, c.listen, em, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "quay-emulator:", err)
		return exitError
	}
	return exitOK
}

// build makes the emulator the configuration describes.
func build(c config) (*quaytest.Emulator, error) {
	v, err := quaytest.ParseVersion(c.version)
	if err != nil {
		return nil, err
	}
	em, err := quaytest.New(fake.New(), quaytest.WithVersion(v), quaytest.WithFeatures(c.features),
		quaytest.WithPageTokenTTL(c.tokenTTL), quaytest.WithFaults(c.faults))
	if err != nil {
		return nil, err
	}
	if c.seed != "" {
		f, err := os.Open(c.seed)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		s, err := quaytest.ReadSeed(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.seed, err)
		}
		if err := em.LoadSeed(s); err != nil {
			return nil, fmt.Errorf("%s: %w", c.seed, err)
		}
	}
	if c.adminToken != "" {
		if err := em.AddAdmin("admin", c.adminToken); err != nil {
			return nil, err
		}
	}
	em.SetReadOnly(c.readOnly)
	return em, nil
}

// serve listens, prints the URL and serves until ctx ends.
func serve(ctx context.Context, addr string, h http.Handler, stdout, stderr io.Writer) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "http://%s\n", ln.Addr())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(stderr, "quay-emulator: shutting down")
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
