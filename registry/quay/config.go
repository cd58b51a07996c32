package quay

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// serverConfig is what the client keeps of Quay's GET /config.
type serverConfig struct {
	// sparseIndex is features.SPARSE_INDEX (FEATURE_SPARSE_INDEX), which
	// a non-empty architecture_filter needs (3.17+).
	sparseIndex bool
	// readOnly: registry_state is "readonly".
	readOnly bool
	// version is version_number without its "Quay " prefix (3.16+,
	// empty with billing on).
	version string
}

// readServerConfig reads GET /config: the web UI's configuration at the
// server root (not under /api/v1), anonymous, Quay 3.8+. A server without
// it (404) yields the zero serverConfig. Feature names come without their
// FEATURE_ prefix; a missing key is false.
func (c *Client) readServerConfig(ctx context.Context) (*serverConfig, error) {
	resp, err := c.do(ctx, request{method: http.MethodGet, path: "/config", root: true})
	if errors.Is(err, quaymirror.ErrNotFound) {
		return &serverConfig{}, nil
	}
	if err != nil {
		return nil, err
	}
	var doc struct {
		Features      map[string]json.RawMessage `json:"features"`
		RegistryState string                     `json:"registry_state"`
		VersionNumber string                     `json:"version_number"`
	}
	if err := resp.Decode(&doc); err != nil {
		return nil, err
	}
	sc := &serverConfig{
		readOnly: strings.EqualFold(doc.RegistryState, "readonly"),
		version:  strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(doc.VersionNumber), "Quay")),
	}
	if raw, ok := doc.Features["SPARSE_INDEX"]; ok {
		_ = json.Unmarshal(raw, &sc.sparseIndex) // anything but true is off
	}
	return sc, nil
}

// sparseIndexOff reports whether the server is known to refuse a
// non-empty architecture filter because FEATURE_SPARSE_INDEX is off. It
// reads /config (once per Client); when that cannot be read the answer is
// false and the server decides.
func (c *Client) sparseIndexOff(ctx context.Context) bool {
	sc, err := c.cfg.get(ctx, c.now, c.readServerConfig)
	return err == nil && !sc.sparseIndex
}
