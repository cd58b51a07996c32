package quaytest

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// schema is the subset of JSON Schema Quay's request schemas use. One value
// both validates requests (with python-jsonschema's messages) and is
// published in /api/v1/discovery, so the two cannot disagree.
type schema struct {
	Type        types              `json:"type,omitempty"`
	Description string             `json:"description,omitempty"`
	Enum        []any              `json:"enum,omitempty"`
	Minimum     *float64           `json:"minimum,omitempty"`
	MaxLength   *int               `json:"maxLength,omitempty"`
	Required    []string           `json:"required,omitempty"`
	Properties  map[string]*schema `json:"properties,omitempty"`
	Items       *schema            `json:"items,omitempty"`
	// AdditionalProperties false refuses undeclared keys (nil allows
	// them, as JSON Schema does by default).
	AdditionalProperties *bool `json:"additionalProperties,omitempty"`
	// order lists Properties in Quay's declaration order, which decides
	// which error python-jsonschema reports first.
	order []string
}

// types is "type": a single name or a list.
type types []string

func (t types) MarshalJSON() ([]byte, error) {
	if len(t) == 1 {
		return json.Marshal(t[0])
	}
	return json.Marshal([]string(t))
}

func typ(names ...string) types { return types(names) }

func minimum(v float64) *float64 { return &v }

func maxLength(n int) *int { return &n }

// object builds an object schema from name/schema pairs in declaration
// order.
func object(description string, required []string, props ...prop) *schema {
	s := &schema{Type: typ("object"), Description: description, Required: required}
	if len(props) > 0 {
		s.Properties = make(map[string]*schema, len(props))
	}
	for _, p := range props {
		s.Properties[p.name] = p.s
		s.order = append(s.order, p.name)
	}
	return s
}

type prop struct {
	name string
	s    *schema
}

// validationError is one python-jsonschema error.
type validationError struct {
	message   string
	validator string
	path      []string // instance path
	schema    *schema
	instance  any
}

// Error renders the error like str(jsonschema.ValidationError), which is
// what Quay puts in "detail".
func (e *validationError) Error() string {
	var sp, ip strings.Builder
	sp.WriteString("schema")
	ip.WriteString("instance")
	for _, p := range e.path {
		fmt.Fprintf(&sp, "['properties'][%s]", pyRepr(p))
		fmt.Fprintf(&ip, "[%s]", pyRepr(p))
	}
	return fmt.Sprintf("%s\n\nFailed validating %s in %s:\n    %s\n\nOn %s:\n    %s",
		e.message, pyRepr(e.validator), sp.String(), schemaRepr(e.schema), ip.String(), pyRepr(e.instance))
}

// validate returns the error python-jsonschema's best_match would report
// (the shallowest, first in declaration order), or nil.
func validate(v any, s *schema) *validationError {
	var all []*validationError
	collect(v, s, nil, &all)
	if len(all) == 0 {
		return nil
	}
	best := all[0]
	for _, e := range all[1:] {
		if len(e.path) < len(best.path) {
			best = e
		}
	}
	return best
}

func collect(v any, s *schema, path []string, out *[]*validationError) {
	fail := func(validator, msg string) {
		*out = append(*out, &validationError{message: msg, validator: validator, path: slices.Clone(path), schema: s, instance: v})
	}
	if len(s.Type) > 0 && !slices.ContainsFunc(s.Type, func(t string) bool { return isType(v, t) }) {
		names := make([]string, len(s.Type))
		for i, t := range s.Type {
			names[i] = pyRepr(t)
		}
		fail("type", fmt.Sprintf("%s is not of type %s", pyRepr(v), strings.Join(names, ", ")))
		return
	}
	if len(s.Enum) > 0 && !slices.ContainsFunc(s.Enum, func(e any) bool { return jsonEqual(e, v) }) {
		fail("enum", fmt.Sprintf("%s is not one of %s", pyRepr(v), pyRepr(s.Enum)))
	}
	if s.Minimum != nil {
		if f, ok := number(v); ok && f < *s.Minimum {
			fail("minimum", fmt.Sprintf("%s is less than the minimum of %s", pyRepr(v), pyRepr(json.Number(strconv.FormatFloat(*s.Minimum, 'f', -1, 64)))))
		}
	}
	if str, ok := v.(string); ok && s.MaxLength != nil && len([]rune(str)) > *s.MaxLength {
		fail("maxLength", fmt.Sprintf("%s is too long", pyRepr(v)))
	}
	obj, isObj := v.(map[string]any)
	if isObj {
		for _, r := range s.Required {
			if _, ok := obj[r]; !ok {
				fail("required", fmt.Sprintf("%s is a required property", pyRepr(r)))
			}
		}
		if s.AdditionalProperties != nil && !*s.AdditionalProperties {
			var extra []string
			for k := range obj {
				if _, declared := s.Properties[k]; !declared {
					extra = append(extra, pyRepr(k))
				}
			}
			slices.Sort(extra)
			switch len(extra) {
			case 0:
			case 1:
				fail("additionalProperties", fmt.Sprintf("Additional properties are not allowed (%s was unexpected)", extra[0]))
			default:
				fail("additionalProperties", fmt.Sprintf("Additional properties are not allowed (%s were unexpected)", strings.Join(extra, ", ")))
			}
		}
		for _, name := range s.order {
			if pv, ok := obj[name]; ok {
				collect(pv, s.Properties[name], append(path, name), out)
			}
		}
	}
	if arr, ok := v.([]any); ok && s.Items != nil {
		for i, item := range arr {
			collect(item, s.Items, append(path, strconv.Itoa(i)), out)
		}
	}
}

func isType(v any, t string) bool {
	switch t {
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
		_, ok := number(v)
		return ok
	case "integer":
		// A float with no fraction is an integer for python-jsonschema.
		f, ok := number(v)
		return ok && f == math.Trunc(f) && !math.IsInf(f, 0)
	}
	return false
}

func number(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil
}

// integer returns v as an int64 if it is a JSON integer.
func integer(v any) (int64, bool) {
	f, ok := number(v)
	if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int64(f), true
}

func jsonEqual(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

// pyRepr renders a decoded JSON value as Python's repr would.
func pyRepr(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case bool:
		if v {
			return "True"
		}
		return "False"
	case json.Number:
		if f, err := v.Float64(); err == nil && strings.ContainsAny(string(v), ".eE") {
			s := strconv.FormatFloat(f, 'f', -1, 64)
			if !strings.Contains(s, ".") {
				s += ".0"
			}
			return s
		}
		return string(v)
	case string:
		var b strings.Builder
		b.WriteByte('\'')
		for _, r := range v {
			switch {
			case r == '\'' || r == '\\':
				b.WriteByte('\\')
				b.WriteRune(r)
			case r == '\n':
				b.WriteString(`\n`)
			case r == '\t':
				b.WriteString(`\t`)
			case r < ' ':
				fmt.Fprintf(&b, `\x%02x`, r)
			default:
				b.WriteRune(r)
			}
		}
		b.WriteByte('\'')
		return b.String()
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = pyRepr(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = pyRepr(k) + ": " + pyRepr(v[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v)
}

// schemaRepr renders a schema as the Python dict it is in Quay.
func schemaRepr(s *schema) string {
	b, err := json.Marshal(s)
	if err != nil {
		return "{}"
	}
	var v any
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	if d.Decode(&v) != nil {
		return "{}"
	}
	return pyRepr(v)
}
