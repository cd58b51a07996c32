package quay

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// Every request body the client sends to a Quay 3.6 server must validate
// against the request definition that server's own discovery document
// gives for the endpoint, with one strictness added: no key the definition
// does not declare (Quay's definitions lack additionalProperties: false,
// but an undeclared key is exactly how version traps happen).
//
// The document is testdata/quay-api/quay-3.6-discovery-internal.json, a
// byte-for-byte copy of what a Quay 3.6 server answered (its provenance
// and checksum are in testdata/quay-api/SOURCE.md, which the test checks).

const discovery36 = "testdata/quay-api/quay-3.6-discovery-internal.json"

// discovery36SHA256 is the checksum SOURCE.md gives for the document.
const discovery36SHA256 = "bd45c3a4c44616b00b041fb21d259a945d89da2a6de629b4a8f5a923fd2838de"

func loadDiscovery36(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(discovery36)
	if err != nil {
		t.Fatal(err)
	}
	if sum := fmt.Sprintf("%x", sha256.Sum256(b)); sum != discovery36SHA256 {
		t.Fatalf("%s has sha256 %s, not the %s of the document SOURCE.md describes", discovery36, sum, discovery36SHA256)
	}
	source, err := os.ReadFile(filepath.Join(filepath.Dir(discovery36), "SOURCE.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(source), discovery36SHA256) {
		t.Fatalf("SOURCE.md next to %s does not give its checksum %s", discovery36, discovery36SHA256)
	}
	return b
}

// endpoint maps a request to the discovery path template it belongs to.
type endpoint struct {
	method   string
	pattern  *regexp.Regexp
	template string
	// definition is the name the discovery document is expected to give
	// the request body: a cross-check of the lookup.
	definition string
}

var endpoints36 = []endpoint{
	{"POST", regexp.MustCompile(`^/api/v1/repository$`), "/api/v1/repository", "NewRepo"},
	{"POST", regexp.MustCompile(`^/api/v1/repository/.+/mirror$`), "/api/v1/repository/{repository}/mirror", "CreateMirrorConfig"},
	{"PUT", regexp.MustCompile(`^/api/v1/repository/.+/mirror$`), "/api/v1/repository/{repository}/mirror", "UpdateMirrorConfig"},
	{"PUT", regexp.MustCompile(`^/api/v1/repository/.+/changestate$`), "/api/v1/repository/{repository}/changestate", "ChangeRepoState"},
	{"PUT", regexp.MustCompile(`^/api/v1/organization/[^/]+/robots/[^/]+$`), "/api/v1/organization/{orgname}/robots/{robot_shortname}", "CreateRobot"},
	{"PUT", regexp.MustCompile(`^/api/v1/repository/.+/permissions/user/[^/]+$`), "/api/v1/repository/{repository}/permissions/user/{username}", "UserPermission"},
}

type sentBody struct {
	method, path string
	body         []byte
}

func TestRequestBodiesMatchQuay36Schemas(t *testing.T) {
	t.Parallel()
	raw := loadDiscovery36(t)
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", discovery36, err)
	}

	var mu sync.Mutex
	var sent []sentBody
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method == "GET" && r.URL.Path == "/api/v1/discovery" {
			_, _ = w.Write(raw)
			return
		}
		if r.Method == "GET" && strings.HasSuffix(r.URL.Path, "/mirror") {
			// The read-back after a tag glob change: the globs sent.
			_, _ = w.Write([]byte(`{"is_enabled": true, "external_reference": "src.example.com/acme/team/app",
				"root_rule": {"rule_kind": "tag_glob_csv", "rule_value": ["v*", "latest"]}}`))
			return
		}
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		sent = append(sent, sentBody{r.Method, r.URL.EscapedPath(), b})
		mu.Unlock()
		switch {
		case strings.Contains(r.URL.Path, "/robots/"):
			w.WriteHeader(201)
			_, _ = w.Write([]byte(`{"name": "acme+mirror", "description": "d", "token": "T"}`))
		case r.Method == "POST":
			w.WriteHeader(201)
			_, _ = w.Write([]byte(`""`))
		default:
			_, _ = w.Write([]byte(`{"success": true}`))
		}
	}))
	t.Cleanup(srv.Close)

	c, err := New(srv.URL, WithToken(testToken))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	full := baseConfig()
	bare := baseConfig()
	bare.Username, bare.Password, bare.Proxy, bare.VerifyTLS = "", "", quaymirror.Proxy{}, false
	run := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	run("create repository", c.CreateRepository(ctx, quaymirror.Repository{Namespace: "acme", Name: "team/app", Description: "d", Visibility: quaymirror.Public}))
	run("create repository", c.CreateRepository(ctx, quaymirror.Repository{Namespace: "acme", Name: "app"}))
	run("create mirror", c.CreateMirror(ctx, "acme", "team/app", full))
	run("create mirror", c.CreateMirror(ctx, "acme", "app", bare))
	run("update mirror", c.UpdateMirror(ctx, "acme", "team/app", full, quaymirror.MirrorFields()))
	run("update mirror", c.UpdateMirror(ctx, "acme", "app", bare, quaymirror.MirrorFields()))
	for _, f := range quaymirror.MirrorFields() {
		run("update mirror "+string(f), c.UpdateMirror(ctx, "acme", "app", full, []quaymirror.Field{f}))
	}
	for _, s := range []quaymirror.State{quaymirror.StateNormal, quaymirror.StateReadOnly, quaymirror.StateMirror} {
		run("change state", c.ChangeState(ctx, "acme", "team/app", s))
	}
	_, err = c.CreateRobot(ctx, "acme", "mirror", "pushes mirrors")
	run("create robot", err)
	_, err = c.CreateRobot(ctx, "acme", "other", "")
	run("create robot", err)
	for _, role := range []quaymirror.Role{quaymirror.RoleRead, quaymirror.RoleWrite, quaymirror.RoleAdmin} {
		run("set permission", c.SetPermission(ctx, "acme", "team/app", "acme+mirror", role))
	}

	covered := map[string]int{}
	for _, s := range sent {
		ep, ok := findEndpoint(s.method, s.path)
		if !ok {
			t.Errorf("%s %s: no endpoint of the table matches", s.method, s.path)
			continue
		}
		name, schema, err := bodyDefinition(doc, ep.template, ep.method)
		if err != nil {
			t.Errorf("%s %s: %v", s.method, s.path, err)
			continue
		}
		if name != ep.definition {
			t.Errorf("%s %s: the discovery gives definition %s, the table expects %s", s.method, s.path, name, ep.definition)
		}
		covered[name]++
		var body any
		dec := json.NewDecoder(bytes.NewReader(s.body))
		dec.UseNumber()
		if err := dec.Decode(&body); err != nil {
			t.Errorf("%s %s: body %q is not JSON: %v", s.method, s.path, s.body, err)
			continue
		}
		for _, problem := range validate(schema, body, "") {
			t.Errorf("%s %s: body %s does not match %s: %s", s.method, s.path, s.body, name, problem)
		}
	}
	for _, ep := range endpoints36 {
		if covered[ep.definition] == 0 {
			t.Errorf("no request body checked against %s", ep.definition)
		}
	}
	t.Logf("checked %d request bodies: %v", len(sent), covered)
}

func findEndpoint(method, path string) (endpoint, bool) {
	for _, ep := range endpoints36 {
		if ep.method == method && ep.pattern.MatchString(path) {
			return ep, true
		}
	}
	return endpoint{}, false
}

// bodyDefinition returns the definition that the discovery document names
// as the body parameter of method on template.
func bodyDefinition(doc map[string]any, template, method string) (string, map[string]any, error) {
	paths, _ := doc["paths"].(map[string]any)
	path, ok := paths[template].(map[string]any)
	if !ok {
		return "", nil, fmt.Errorf("no path %s in the discovery", template)
	}
	op, ok := path[strings.ToLower(method)].(map[string]any)
	if !ok {
		return "", nil, fmt.Errorf("no %s on %s", method, template)
	}
	params, _ := op["parameters"].([]any)
	for _, p := range params {
		pm, _ := p.(map[string]any)
		if pm["in"] != "body" {
			continue
		}
		schema, _ := pm["schema"].(map[string]any)
		ref, _ := schema["$ref"].(string)
		name, ok := strings.CutPrefix(ref, "#/definitions/")
		if !ok {
			return "", nil, fmt.Errorf("body parameter of %s %s has no definition reference", method, template)
		}
		defs, _ := doc["definitions"].(map[string]any)
		def, ok := defs[name].(map[string]any)
		if !ok {
			return "", nil, fmt.Errorf("definition %s is missing", name)
		}
		return name, def, nil
	}
	return "", nil, fmt.Errorf("%s %s takes no body", method, template)
}

// validate checks v against the subset of JSON schema (draft 4) Quay's
// request definitions use: type (one or a list), enum, required,
// properties, items, minimum, maxLength. Every key of an object must be
// declared when the schema lists properties. Any other constraining
// keyword fails the check rather than being ignored.
func validate(schema map[string]any, v any, at string) []string {
	var problems []string
	fail := func(format string, args ...any) {
		where := at
		if where == "" {
			where = "(body)"
		}
		problems = append(problems, where+": "+fmt.Sprintf(format, args...))
	}
	for k := range schema {
		switch k {
		case "type", "enum", "required", "properties", "items", "minimum", "maxLength", "description", "title", "default":
		default:
			if !strings.HasPrefix(k, "x-") {
				fail("the validator does not support the keyword %q", k)
				return problems
			}
		}
	}
	if t, ok := schema["type"]; ok {
		types, err := typeList(t)
		if err != nil {
			fail("%v", err)
			return problems
		}
		if !slices.ContainsFunc(types, func(name string) bool { return hasType(v, name) }) {
			fail("%s is not of type %v", show(v), types)
			return problems
		}
	}
	if enum, ok := schema["enum"].([]any); ok {
		if !slices.ContainsFunc(enum, func(e any) bool { return sameValue(e, v) }) {
			fail("%s is not one of %v", show(v), enum)
		}
	}
	if minimum, ok := schema["minimum"].(float64); ok {
		if n, isNum := v.(json.Number); isNum {
			if f, err := n.Float64(); err != nil || f < minimum {
				fail("%s is below the minimum %v", n, minimum)
			}
		}
	}
	if maxLen, ok := schema["maxLength"].(float64); ok {
		if s, isStr := v.(string); isStr && float64(utf8.RuneCountInString(s)) > maxLen {
			fail("%q is longer than %v", s, maxLen)
		}
	}
	if obj, isObj := v.(map[string]any); isObj {
		required, _ := schema["required"].([]any)
		for _, r := range required {
			if _, ok := obj[r.(string)]; !ok {
				fail("required key %q is missing", r)
			}
		}
		if props, ok := schema["properties"].(map[string]any); ok {
			keys := make([]string, 0, len(obj))
			for k := range obj {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				sub, declared := props[k].(map[string]any)
				if !declared {
					fail("key %q is not declared by the definition", k)
					continue
				}
				problems = append(problems, validate(sub, obj[k], at+"."+k)...)
			}
		}
	}
	if arr, isArr := v.([]any); isArr {
		if items, ok := schema["items"].(map[string]any); ok {
			for i, e := range arr {
				problems = append(problems, validate(items, e, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	}
	return problems
}

func typeList(t any) ([]string, error) {
	switch x := t.(type) {
	case string:
		return []string{x}, nil
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("type list %v holds a non-string", x)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("unreadable type %v", t)
}

func hasType(v any, name string) bool {
	switch name {
	case "null":
		return v == nil
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "number":
		_, ok := v.(json.Number)
		return ok
	case "integer":
		n, ok := v.(json.Number)
		if !ok {
			return false
		}
		_, err := n.Int64()
		return err == nil
	}
	return false
}

// sameValue compares a schema enum value (decoded without UseNumber) with
// a body value (decoded with it).
func sameValue(e, v any) bool {
	if n, ok := v.(json.Number); ok {
		f, err := n.Float64()
		return err == nil && reflect.DeepEqual(e, f)
	}
	return reflect.DeepEqual(e, v)
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// The validator must be able to fail, or the test above proves nothing.
func TestValidatorCatchesViolations(t *testing.T) {
	t.Parallel()
	schema := map[string]any{}
	if err := json.Unmarshal([]byte(`{
		"type": "object",
		"required": ["name", "rule"],
		"properties": {
			"name": {"type": "string", "maxLength": 5},
			"state": {"type": "string", "enum": ["NORMAL", "MIRROR"]},
			"interval": {"type": "integer", "minimum": 0},
			"user": {"type": ["string", "null"]},
			"rule": {"type": "object", "required": ["kind"], "properties": {
				"kind": {"type": "string", "enum": ["tag_glob_csv"]},
				"values": {"type": "array", "items": {"type": "string"}}
			}},
			"free": {"type": "object"}
		}
	}`), &schema); err != nil {
		t.Fatal(err)
	}
	decode := func(s string) any {
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	if p := validate(schema, decode(`{"name": "app", "state": "MIRROR", "interval": 0, "user": null,
		"rule": {"kind": "tag_glob_csv", "values": ["v*"]}, "free": {"anything": 1}}`), ""); len(p) != 0 {
		t.Errorf("a valid body was refused: %v", p)
	}
	for body, want := range map[string]string{
		`{"rule": {"kind": "tag_glob_csv"}}`:                                       `required key "name"`,
		`{"name": "app", "rule": {"kind": "tag_glob_csv"}, "extra": 1}`:            `key "extra" is not declared`,
		`{"name": "app", "rule": {"kind": "x"}}`:                                   `is not one of`,
		`{"name": "app", "rule": {"kind": "tag_glob_csv"}, "state": "ORG_MIRROR"}`: `is not one of`,
		`{"name": "app", "rule": {"kind": "tag_glob_csv"}, "interval": -1}`:        `below the minimum`,
		`{"name": "app", "rule": {"kind": "tag_glob_csv"}, "interval": 1.5}`:       `is not of type [integer]`,
		`{"name": "app", "rule": {"kind": "tag_glob_csv"}, "interval": "60"}`:      `is not of type [integer]`,
		`{"name": "app", "rule": {"kind": "tag_glob_csv"}, "user": 3}`:             `is not of type [string null]`,
		`{"name": null, "rule": {"kind": "tag_glob_csv"}}`:                         `is not of type [string]`,
		`{"name": "toolong", "rule": {"kind": "tag_glob_csv"}}`:                    `longer than`,
		`{"name": "app", "rule": {"kind": "tag_glob_csv", "values": ["a", 1]}}`:    `.rule.values[1]`,
		`{"name": "app", "rule": {"kind": "tag_glob_csv", "unsigned": false}}`:     `key "unsigned" is not declared`,
		`{"name": "app", "rule": {}}`:                                              `required key "kind"`,
		`[]`:                                                                       `is not of type [object]`,
	} {
		p := validate(schema, decode(body), "")
		if !slices.ContainsFunc(p, func(s string) bool { return strings.Contains(s, want) }) {
			t.Errorf("%s: problems %v, want one with %q", body, p, want)
		}
	}
	if p := validate(map[string]any{"pattern": "^a"}, "b", ""); len(p) == 0 {
		t.Error("an unsupported keyword was ignored")
	}
}
