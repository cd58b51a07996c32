package quaytest_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/fake"
	"github.com/quaymirror/quaymirror/registry/quay/quaytest"
)

type benchEnv struct {
	srv *httptest.Server
}

// newBenchEnv serves an organisation "big" of n repositories, each with a
// mirror.
func newBenchEnv(b *testing.B, n int) *benchEnv {
	b.Helper()
	reg := fake.New()
	em, err := quaytest.New(reg)
	if err != nil {
		b.Fatal(err)
	}
	if err := em.AddAdmin("admin", tokAdmin); err != nil {
		b.Fatal(err)
	}
	for i := range n {
		name := fmt.Sprintf("repo-%05d", i)
		if err := reg.AddRepository(quaymirror.Repository{Namespace: "big", Name: name, State: quaymirror.StateMirror}); err != nil {
			b.Fatal(err)
		}
	}
	srv := httptest.NewServer(em)
	b.Cleanup(srv.Close)
	return &benchEnv{srv: srv}
}

func (e *benchEnv) get(b *testing.B, path string) []byte {
	b.Helper()
	r, err := http.NewRequestWithContext(b.Context(), http.MethodGet, e.srv.URL+path, nil)
	if err != nil {
		b.Fatal(err)
	}
	r.Header.Set("Authorization", "Bearer "+tokAdmin)
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != 200 {
		b.Fatalf("GET %s: %d %v", path, res.StatusCode, err)
	}
	return body
}

// BenchmarkGetRepository20000 reads one repository of a 20,000-repository
// organisation.
func BenchmarkGetRepository20000(b *testing.B) {
	e := newBenchEnv(b, 20000)
	for b.Loop() {
		e.get(b, "/api/v1/repository/big/repo-19999")
	}
}
