package function

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/quaymirror/quaymirror/runner"
)

// configured are the organisations events may name.
var configured = []runner.Org{{Source: "acme"}, {Source: "a1"}, {Source: "b2"}}

func ping(t *testing.T, contentType string, data string) event.Event {
	t.Helper()
	e := event.New()
	e.SetID("1")
	e.SetSource("/apis/v1/namespaces/quay-mirror/pingsources/quaymirror-acme")
	e.SetType(PingEventType)
	if data != "" {
		if err := e.SetData(contentType, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func TestParseRequest(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, ct, data string
		want           []string
		dryRun         bool
	}{
		{"no data means every organisation", "", "", []string{"acme", "a1", "b2"}, false},
		{"empty object means every organisation", "application/json", `{}`, []string{"acme", "a1", "b2"}, false},
		{"one", "application/json", `{"organization":"acme"}`, []string{"acme"}, false},
		{"many, deduplicated, in order", "application/json", `{"organizations":["b2","a1","b2"]}`, []string{"b2", "a1"}, false},
		{"dry run", "application/json", `{"organization":"acme","dry_run":true}`, []string{"acme"}, true},
		{"content type parameters", "application/json; charset=utf-8", `{"organization":"acme"}`, []string{"acme"}, false},
		{"+json suffix", "application/cloudevents-data+json", `{"organization":"acme"}`, []string{"acme"}, false},
		{"no content type", "", ` {"organization":"acme"} `, []string{"acme"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, err := parseRequest(ping(t, tc.ct, tc.data), configured)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(sources(req.orgs), tc.want) || req.dryRun != tc.dryRun {
				t.Errorf("got %+v, want %v dry_run=%v", req, tc.want, tc.dryRun)
			}
		})
	}
}

func TestParseRequestRefusals(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, ct, data, want string
	}{
		{"not JSON", "application/json", `organization=acme`, "not a JSON object"},
		{"array", "application/json", `["acme"]`, "not a JSON object"},
		{"trailing data", "application/json", `{"organization":"acme"} {}`, "trailing data"},
		{"text content", "text/plain", `{"organization":"acme"}`, "content type"},
		{"misspelt key", "application/json", `{"organisation":"acme"}`, "unknown field"},
		{"wrong case key", "application/json", `{"Organization":"acme"}`, "unknown field"},
		{"number", "application/json", `{"organization":7}`, "field organization"},
		{"empty name", "application/json", `{"organization":""}`, "empty organization"},
		{"empty list", "application/json", `{"organizations":[]}`, "empty list"},
		{"both forms", "application/json", `{"organization":"a1","organizations":["b2"]}`, "not both"},
		{"dry run as string", "application/json", `{"dry_run":"yes"}`, "field dry_run"},
		{"too big", "application/json", `{"organization":"` + strings.Repeat("a", maxData) + `"}`, "bytes"},
		{"unknown organization", "application/json", `{"organizations":["acme","nope"]}`, `unknown organization "nope" (configured: a1, acme, b2)`},
		{"null name", "application/json", `{"organization":null}`, "empty organization"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseRequest(ping(t, tc.ct, tc.data), configured)
			if !errors.Is(err, errBadRequest) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want one containing %q", err, tc.want)
			}
			if err != nil && (strings.Contains(err.Error(), "\n") || len(err.Error()) > 300) {
				t.Errorf("error is not one short line: %q", err)
			}
		})
	}
	t.Run("wrong type", func(t *testing.T) {
		t.Parallel()
		e := ping(t, "", "")
		e.SetType("dev.example.other")
		if _, err := parseRequest(e, configured); !errors.Is(err, errBadRequest) || !strings.Contains(err.Error(), PingEventType) {
			t.Errorf("error = %v", err)
		}
	})
}
