package demo

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/fake"
	"github.com/quaymirror/quaymirror/registry/quay/quaytest"
)

// Tokens and credentials of the emulated registries. They are fixed,
// fake, and meaningful only to these emulators.
const (
	SourceToken      = "demo-source-token"
	DestinationToken = "demo-destination-token"
	PullUsername     = "mirror-reader"
	PullPassword     = "demo-pull-password"
	RobotShortName   = "mirror"
)

// Org is a source organisation of the demo.
type Org struct {
	Name string
	// Repositories are created in the source organisation.
	Repositories []quaymirror.Repository
	// Destination seeds the destination organisation (which exists, with
	// the robot) before the run; nil leaves it empty.
	Destination func(dst *fake.Registry) error
}

// Options describe the two registries.
type Options struct {
	Orgs []Org
	// Version is the Quay version both emulators imitate (default 3.17).
	Version quaytest.Version
	// Faults are applied to the destination.
	DestinationFaults quaytest.Faults
	// SourceFaults are applied to the source.
	SourceFaults quaytest.Faults
	// PageTokenTTL, when set, makes page tokens expire.
	PageTokenTTL time.Duration
}

// Registry is one emulated Quay served on loopback.
type Registry struct {
	Fake     *fake.Registry
	Emulator *quaytest.Emulator
	URL      string
	server   *http.Server
	listener net.Listener
}

// Env is a running source and destination.
type Env struct {
	Source, Destination *Registry
	Orgs                []string
}

// DefaultOrgs is the demo's content: two organisations of a platform team,
// one of them with a repository that already holds tags at the destination
// (which quaymirror refuses to turn into a mirror) and one mirror that
// drifted.
func DefaultOrgs() []Org {
	repos := func(org string, names ...string) []quaymirror.Repository {
		out := make([]quaymirror.Repository, len(names))
		for i, n := range names {
			out[i] = quaymirror.Repository{Namespace: org, Name: n, Description: "Mirror of " + n, Visibility: quaymirror.Private,
				Tags: []string{"latest", "v1.0.0"}}
		}
		return out
	}
	return []Org{
		{
			Name:         "internal-docker-io",
			Repositories: repos("internal-docker-io", "library/nginx", "library/postgres", "library/redis", "bitnami/kafka"),
		},
		{
			Name:         "internal-registry-redhat-io",
			Repositories: repos("internal-registry-redhat-io", "ubi9/ubi", "ubi9/ubi-minimal", "openshift4/ose-cli", "rhel9/postgresql-15"),
			Destination: func(dst *fake.Registry) error {
				// Someone pushed by hand into a repository of the mirror.
				return dst.AddRepository(quaymirror.Repository{Namespace: "internal-registry-redhat-io", Name: "rhel9/postgresql-15",
					Tags: []string{"hand-pushed"}})
			},
		},
	}
}

// Start starts the two registries. Close stops them.
func Start(opts Options) (*Env, error) {
	if opts.Version == (quaytest.Version{}) {
		opts.Version = quaytest.V3_17
	}
	src, err := startRegistry(opts.Version, opts.SourceFaults, opts.PageTokenTTL)
	if err != nil {
		return nil, err
	}
	dst, err := startRegistry(opts.Version, opts.DestinationFaults, opts.PageTokenTTL)
	if err != nil {
		src.Close()
		return nil, err
	}
	env := &Env{Source: src, Destination: dst}
	if err := env.seed(opts.Orgs); err != nil {
		env.Close()
		return nil, err
	}
	return env, nil
}

func startRegistry(v quaytest.Version, faults quaytest.Faults, ttl time.Duration) (*Registry, error) {
	reg := fake.New(fake.WithPageSize(fake.DefaultPageSize))
	features := quaytest.DefaultFeatures()
	// The mirrors point at the loopback source; hardened Quay releases
	// refuse loopback references unless allow-listed, as an on-premises
	// source must be (SSRF_ALLOWED_HOSTS).
	features.SSRFAllowedHosts = []string{"127.0.0.0/8"}
	opts := []quaytest.Option{quaytest.WithVersion(v), quaytest.WithFeatures(features), quaytest.WithFaults(faults)}
	if ttl > 0 {
		opts = append(opts, quaytest.WithPageTokenTTL(ttl))
	}
	em, err := quaytest.New(reg, opts...)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: em, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	return &Registry{Fake: reg, Emulator: em, URL: "http://" + l.Addr().String(), server: srv, listener: l}, nil
}

// Close stops the registry at once. (Shutdown would wait up to five
// seconds for connections a client opened but never used.)
func (r *Registry) Close() { _ = r.server.Close() }

// Close stops both registries.
func (e *Env) Close() {
	e.Source.Close()
	e.Destination.Close()
}

func (e *Env) seed(orgs []Org) error {
	// The source token reads (repo:read) and may say whose it is
	// (user:read); the destination token administers.
	if err := e.Source.Emulator.AddAdmin("source-reader", SourceToken, quaytest.ScopeRepoRead, quaytest.ScopeUserRead); err != nil {
		return err
	}
	if err := e.Destination.Emulator.AddAdmin("destination-admin", DestinationToken,
		quaytest.ScopeRepoAdmin, quaytest.ScopeRepoCreate, quaytest.ScopeOrgAdmin, quaytest.ScopeUserRead); err != nil {
		return err
	}
	for _, o := range orgs {
		e.Orgs = append(e.Orgs, o.Name)
		if err := errors.Join(e.Source.Fake.AddOrganization(o.Name), e.Destination.Fake.AddOrganization(o.Name),
			e.Destination.Fake.AddRobot(o.Name, RobotShortName)); err != nil {
			return err
		}
		for _, r := range o.Repositories {
			r.Namespace = o.Name
			if err := e.Source.Fake.AddRepository(r); err != nil {
				return err
			}
		}
		if o.Destination != nil {
			if err := o.Destination(e.Destination.Fake); err != nil {
				return err
			}
		}
	}
	return nil
}

// Environ returns the quaymirror environment for the two registries, the
// organisations, the robot, tokens and pull credentials, followed by
// extra KEY=VALUE pairs (which win).
func (e *Env) Environ(extra ...string) []string {
	env := map[string]string{
		"SOURCE_REGISTRY":      e.Source.URL,
		"DESTINATION_REGISTRY": e.Destination.URL,
		"ORGANIZATIONS":        strings.Join(e.Orgs, ","),
		"ROBOT_NAME":           RobotShortName,
		"SOURCE_TOKEN":         SourceToken,
		"DESTINATION_TOKEN":    DestinationToken,
		"QUAY_USERNAME":        PullUsername,
		"QUAY_PASSWORD":        PullPassword,
		"TAG_GLOB":             `["*"]`,
		"QPS":                  "0",
	}
	for _, kv := range extra {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// Repositories builds n source repositories named prefix-00000 ...
func Repositories(org, prefix string, n int) []quaymirror.Repository {
	out := make([]quaymirror.Repository, n)
	for i := range out {
		out[i] = quaymirror.Repository{Namespace: org, Name: fmt.Sprintf("%s-%05d", prefix, i), Visibility: quaymirror.Private}
	}
	return out
}
