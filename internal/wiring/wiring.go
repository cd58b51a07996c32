package wiring

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/quaymirror/quaymirror/internal/config"
	"github.com/quaymirror/quaymirror/metrics"
	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/harbor"
	"github.com/quaymirror/quaymirror/registry/oci"
	"github.com/quaymirror/quaymirror/registry/quay"
	"github.com/quaymirror/quaymirror/runner"
)

// New returns the runner of cfg: a source client of SOURCE_TYPE's kind
// (Quay, Harbor or an OCI registry) and a Quay destination client per
// organisation, from cfg's registries and credentials, the rate (QPS,
// BURST), CONCURRENCY, the TIMEOUT budget and the slicing of checks
// (TICK_PERIOD, FULL_CHECK_EVERY); opts
// come after those, so they may override them. It sends no request.
func New(cfg *config.Resolved, logger hclog.Logger, opts ...runner.Option) (*runner.Runner, error) {
	return NewWithMetrics(cfg, logger, nil, opts...)
}

// NewWithMetrics is New recording into rec (when not nil): every run
// through runner.WithObserver, and every request attempt of each
// organisation's clients through rec's counting transport, put under the
// clients' own stack so that retries are counted. With
// METRICS_PUSHGATEWAY, the observer is the Pusher's (see Pusher), so
// each organisation's run is pushed as soon as it ends: the CLI and the
// function push alike.
func NewWithMetrics(cfg *config.Resolved, logger hclog.Logger, rec *metrics.Recorder, opts ...runner.Option) (*runner.Runner, error) {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	b := &backends{cfg: cfg, logger: logger, rec: rec}
	if rec != nil {
		pusher, err := Pusher(cfg, rec)
		if err != nil {
			return nil, err
		}
		observe := rec.Observe
		if pusher != nil {
			observe = pusher.Observer(logger)
		}
		opts = append([]runner.Option{runner.WithObserver(observe)}, opts...)
	}
	var err error
	// One transport (and so one connection pool) per registry, shared by
	// the clients of every organisation.
	if b.srcTransport, err = quay.NewTransport(quay.TransportOptions{CABundle: cfg.CABundle}); err != nil {
		return nil, err
	}
	if b.dstTransport, err = quay.NewTransport(quay.TransportOptions{CABundle: cfg.CABundle}); err != nil {
		return nil, err
	}
	base := []runner.Option{
		runner.WithRate(float64(cfg.QPS), int(cfg.Burst)),
		runner.WithConcurrency(int(cfg.Concurrency)),
		runner.WithBudget(time.Duration(cfg.Timeout)),
		runner.WithLogger(logger),
		runner.WithTickPeriod(time.Duration(cfg.TickPeriod) * time.Second),
		runner.WithFullCheckEvery(int(cfg.FullCheckEvery)),
	}
	return runner.New(b.open, append(base, opts...)...)
}

// Orgs returns cfg's organisation pairs with their policies.
func Orgs(cfg *config.Resolved) []runner.Org {
	out := make([]runner.Org, len(cfg.Orgs))
	for i, o := range cfg.Orgs {
		out[i] = runner.Org{Source: o.Source, Destination: o.Destination, Policy: cfg.Policy(o)}
	}
	return out
}

type backends struct {
	cfg          *config.Resolved
	logger       hclog.Logger
	rec          *metrics.Recorder // nil: no metrics
	srcTransport http.RoundTripper
	dstTransport http.RoundTripper
}

// open is the runner's Backends: the clients of one organisation pair. The
// source is nil when cfg has no source registry (status needs none).
func (b *backends) open(_ context.Context, org runner.Org) (quaymirror.Source, quaymirror.Destination, error) {
	o, ok := b.cfg.Org(org.Source)
	if !ok {
		return nil, nil, fmt.Errorf("organization %s is not configured", org.Source)
	}
	var src quaymirror.Source
	if b.cfg.Source != nil {
		c, err := b.source(o, b.transport(metrics.Source, org.Source, b.srcTransport))
		if err != nil {
			return nil, nil, err
		}
		src = c
	}
	dst, err := b.client(b.cfg.Destination, b.transport(metrics.Destination, org.Source, b.dstTransport), o.DestinationToken)
	if err != nil {
		return nil, nil, err
	}
	return src, dst, nil
}

// transport is the shared transport of a side, counted per organisation
// when metrics are recorded.
func (b *backends) transport(side metrics.Side, org string, shared http.RoundTripper) http.RoundTripper {
	if b.rec == nil {
		return shared
	}
	return b.rec.Transport(side, org, shared)
}

// MetricsHandler is what `quaymirror serve` answers at /metrics: rec's
// series, and the Go runtime's and the process' as every long-lived Go
// service shows them, to GET and HEAD (promhttp: the text format, or what
// the scraper negotiates; a metric that cannot be gathered is left out
// and the others are served). Other methods are answered 405.
func MetricsHandler(rec *metrics.Recorder) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(rec, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "GET only", http.StatusMethodNotAllowed)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Pusher returns the pusher of rec to cfg's METRICS_PUSHGATEWAY, or nil
// when none is set. Its client trusts CA_BUNDLE too, follows the proxy
// environment and gives up after REQUEST_TIMEOUT.
func Pusher(cfg *config.Resolved, rec *metrics.Recorder) (*metrics.Pusher, error) {
	if cfg.MetricsPushgateway == "" {
		return nil, nil
	}
	t, err := quay.NewTransport(quay.TransportOptions{CABundle: cfg.CABundle})
	if err != nil {
		return nil, err
	}
	client := &http.Client{Transport: t, Timeout: time.Duration(cfg.RequestTimeout)}
	return metrics.NewPusher(string(cfg.MetricsPushgateway), rec, client)
}

// source is the source client of one organisation, of SOURCE_TYPE's
// kind: the only place that knows the concrete source backends.
func (b *backends) source(o config.ResolvedOrg, rt http.RoundTripper) (quaymirror.Source, error) {
	base := b.cfg.Source.String()
	timeout := time.Duration(b.cfg.RequestTimeout)
	insecure := bool(b.cfg.AllowInsecureHTTP)
	switch b.cfg.SourceType {
	case config.SourceHarbor:
		opts := []harbor.Option{harbor.WithTransport(rt), harbor.WithLogger(b.logger), harbor.WithTimeout(timeout)}
		switch {
		case o.SourceToken != "":
			opts = append(opts, harbor.WithToken(o.SourceToken.Reveal()))
		case o.SourceUsername != "":
			opts = append(opts, harbor.WithBasicAuth(o.SourceUsername, o.SourcePassword.Reveal()))
		}
		if insecure {
			opts = append(opts, harbor.WithAllowInsecureHTTP())
		}
		return harbor.New(base, opts...)
	case config.SourceOCI:
		opts := []oci.Option{oci.WithTransport(rt), oci.WithLogger(b.logger), oci.WithTimeout(timeout)}
		switch {
		case o.SourceToken != "":
			opts = append(opts, oci.WithToken(o.SourceToken.Reveal()))
		case o.SourceUsername != "":
			opts = append(opts, oci.WithBasicAuth(o.SourceUsername, o.SourcePassword.Reveal()))
		}
		if insecure {
			opts = append(opts, oci.WithAllowInsecureHTTP())
		}
		return oci.New(base, opts...)
	}
	return b.client(b.cfg.Source, rt, o.SourceToken)
}

func (b *backends) client(base *url.URL, rt http.RoundTripper, token quaymirror.Secret) (*quay.Client, error) {
	opts := []quay.Option{
		quay.WithTransport(rt),
		quay.WithLogger(b.logger),
		quay.WithTimeout(time.Duration(b.cfg.RequestTimeout)),
	}
	if token != "" {
		opts = append(opts, quay.WithToken(token.Reveal()))
	}
	if b.cfg.AllowInsecureHTTP {
		opts = append(opts, quay.WithAllowInsecureHTTP())
	}
	return quay.New(base.String(), opts...)
}
