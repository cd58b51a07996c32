package quay

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// Paths of the discovery document that reveal features.
const (
	mirrorPathTemplate    = "/api/v1/repository/{repository}/mirror"
	orgMirrorPathTemplate = "/api/v1/organization/{orgname}/mirror"
)

// discoveryRetryAfter is how long a failed discovery read is remembered
// before the next call tries again.
const discoveryRetryAfter = 30 * time.Second

// schemaNode is the part of a JSON schema the client shapes bodies with:
// the declared properties and the required ones.
type schemaNode struct {
	Properties map[string]*schemaNode `json:"properties"`
	Required   []string               `json:"required"`
}

func (s *schemaNode) declares(key string) bool {
	if s == nil {
		return false
	}
	_, ok := s.Properties[key]
	return ok
}

// discovery is what the client keeps of /api/v1/discovery.
type discovery struct {
	caps quaymirror.Capabilities
	// create and update are the CreateMirrorConfig and UpdateMirrorConfig
	// request schemas.
	create, update *schemaNode
	// skopeoRequired: skopeo_timeout_interval is required on create
	// (Quay 3.15+).
	skopeoRequired bool
}

// lazy holds a document a Client reads once (the discovery document, the
// server's /config). sem is a one-slot lock that a waiting caller can give
// up on when its context ends; a failed read is remembered for
// discoveryRetryAfter, then tried again.
type lazy[T any] struct {
	sem      chan struct{}
	doc      *T
	err      error
	failedAt time.Time
}

func (l *lazy[T]) init() { l.sem = make(chan struct{}, 1) }

// get returns the document, reading it with read the first time.
func (l *lazy[T]) get(ctx context.Context, now func() time.Time, read func(context.Context) (*T, error)) (*T, error) {
	select {
	case l.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-l.sem }()
	if l.doc != nil {
		return l.doc, nil
	}
	if l.err != nil && now().Sub(l.failedAt) < discoveryRetryAfter {
		return nil, l.err
	}
	d, err := read(ctx)
	if err != nil {
		if ctx.Err() == nil {
			l.err, l.failedAt = err, now()
		}
		return nil, err
	}
	l.doc, l.err = d, nil
	return d, nil
}

// Capabilities reads GET /api/v1/discovery and, where the server has it,
// the anonymous GET /config at the server root (Quay 3.8+), each once per
// Client (a failure is retried after a short while), and reports:
// RepositoryMirroring when the repository mirror path exists
// (FEATURE_REPO_MIRROR), OrganizationMirroring when the organisation
// mirror path exists (3.17+ with FEATURE_ORG_MIRROR), SkopeoTimeout and
// ArchitectureFilter when CreateMirrorConfig declares
// skopeo_timeout_interval and architecture_filter; from /config,
// SparseIndex (features.SPARSE_INDEX; a missing key is false), ReadOnly
// (registry_state "readonly") and Version (version_number, 3.16+). A
// server without /config (404) reports none of those three. /config
// failing otherwise fails Capabilities only where the architecture filter
// exists, the one place its answer changes what may be written.
func (c *Client) Capabilities(ctx context.Context) (quaymirror.Capabilities, error) {
	d, err := c.discovery(ctx)
	if err != nil {
		return quaymirror.Capabilities{}, err
	}
	caps := d.caps
	sc, err := c.cfg.get(ctx, c.now, c.readServerConfig)
	switch {
	case err == nil:
		caps.SparseIndex = caps.ArchitectureFilter && sc.sparseIndex
		caps.ReadOnly = sc.readOnly
		caps.Version = sc.version
	case ctx.Err() != nil:
		return quaymirror.Capabilities{}, ctx.Err()
	case caps.ArchitectureFilter:
		return quaymirror.Capabilities{}, err
	default:
		c.logger.Debug("the server's /config cannot be read; version and read-only mode unknown", "error", err)
	}
	return caps, nil
}

func (c *Client) discovery(ctx context.Context) (*discovery, error) {
	return c.disc.get(ctx, c.now, c.readDiscovery)
}

func (c *Client) readDiscovery(ctx context.Context) (*discovery, error) {
	resp, err := c.do(ctx, request{method: http.MethodGet, path: "/discovery"})
	if err != nil {
		return nil, err
	}
	var doc struct {
		Paths       map[string]json.RawMessage `json:"paths"`
		Definitions map[string]json.RawMessage `json:"definitions"`
	}
	if err := resp.Decode(&doc); err != nil {
		return nil, err
	}
	if doc.Paths == nil {
		return nil, resp.Bad("the discovery document has no paths")
	}
	d := &discovery{}
	_, d.caps.RepositoryMirroring = doc.Paths[mirrorPathTemplate]
	_, d.caps.OrganizationMirroring = doc.Paths[orgMirrorPathTemplate]
	schema := func(name string) (*schemaNode, error) {
		raw, ok := doc.Definitions[name]
		if !ok {
			return nil, nil
		}
		var s schemaNode
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, resp.Bad("definition %s: %v", name, err)
		}
		return &s, nil
	}
	if d.create, err = schema("CreateMirrorConfig"); err != nil {
		return nil, err
	}
	if d.update, err = schema("UpdateMirrorConfig"); err != nil {
		return nil, err
	}
	if d.caps.RepositoryMirroring && d.create == nil {
		return nil, resp.Bad("the discovery document has the mirror path but no CreateMirrorConfig definition")
	}
	if d.update == nil {
		d.update = d.create
	}
	d.caps.SkopeoTimeout = d.create.declares(keySkopeoTimeout)
	d.caps.ArchitectureFilter = d.create.declares(keyArchitectureFilter)
	d.skopeoRequired = d.create != nil && slices.Contains(d.create.Required, keySkopeoTimeout)
	return d, nil
}

// mirrorShape returns the discovery that shapes mirror bodies. When the
// server's discovery cannot be read there is no safe shape to fall back
// to: Quay 3.15+ requires skopeo_timeout_interval on create, 3.6 to 3.14.6
// fail with a 500 when it is sent, and 3.14.7 refuses it with a 400. So no
// mirror is written: the error names the discovery document, quotes what
// reading it returned, and wraps ErrUnavailable.
func (c *Client) mirrorShape(ctx context.Context) (*discovery, error) {
	d, err := c.discovery(ctx)
	switch {
	case err == nil:
		if !d.caps.RepositoryMirroring {
			return nil, fmt.Errorf("quay: repository mirroring is disabled on this registry (FEATURE_REPO_MIRROR): %w", quaymirror.ErrUnsupported)
		}
		return d, nil
	case ctx.Err() != nil:
		return nil, ctx.Err()
	}
	// The cause is kept as text: its sentinel (a 404 of the document, say)
	// would read as one about the repository.
	return nil, fmt.Errorf("quay: no mirror is written without the server's discovery document (/api/v1/discovery), "+
		"which says whether this Quay version requires or refuses skopeo_timeout_interval (%v): %w", err, quaymirror.ErrUnavailable)
}
