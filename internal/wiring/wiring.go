package wiring

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/quaymirror/quaymirror/internal/config"
	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/quay"
	"github.com/quaymirror/quaymirror/runner"
)

// New returns the runner of cfg: Quay clients from cfg's registries and
// tokens, the rate (QPS, BURST), CONCURRENCY and the TIMEOUT budget; opts
// come after those, so they may override them. It sends no request.
func New(cfg *config.Resolved, logger hclog.Logger, opts ...runner.Option) (*runner.Runner, error) {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	b := &backends{cfg: cfg, logger: logger}
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
		c, err := b.client(b.cfg.Source, b.srcTransport, o.SourceToken)
		if err != nil {
			return nil, nil, err
		}
		src = c
	}
	dst, err := b.client(b.cfg.Destination, b.dstTransport, o.DestinationToken)
	if err != nil {
		return nil, nil, err
	}
	return src, dst, nil
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
