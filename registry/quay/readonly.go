package quay

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"

	"github.com/quaymirror/quaymirror/registry/transport"
)

// readOnlyAnswer reports whether resp is Quay's read-only refusal: a 503
// whose JSON body says "is_readonly": true (decorated.py). It reads at
// most transport.ErrorBodyLimit bytes of the body and puts them back in
// front of the rest.
func readOnlyAnswer(resp *http.Response) bool {
	if resp.StatusCode != http.StatusServiceUnavailable {
		return false
	}
	head, err := io.ReadAll(io.LimitReader(resp.Body, transport.ErrorBodyLimit))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
	return err == nil && isReadOnlyBody(head)
}

// isReadOnlyBody reports whether an error answer's body carries Quay's
// "is_readonly": true.
func isReadOnlyBody(body []byte) bool {
	var v struct {
		IsReadOnly bool `json:"is_readonly"`
	}
	return json.Unmarshal(bytes.TrimSpace(body), &v) == nil && v.IsReadOnly
}
