package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/quaymirror/quaymirror/metrics"
	"github.com/quaymirror/quaymirror/quaymirror"
)

// The setting types decode themselves so that every bad value gets a
// message that says what is expected.

// Bool accepts true/false, 1/0, yes/no, on/off (any case).
type Bool bool

// EnvDecode implements envconfig.Decoder.
func (b *Bool) EnvDecode(v string) error {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "1", "yes", "on", "t", "y":
		*b = true
	case "false", "0", "no", "off", "f", "n":
		*b = false
	default:
		return fmt.Errorf("%q is not a boolean (true or false)", v)
	}
	return nil
}

// Int is a non-negative integer.
type Int int

// EnvDecode implements envconfig.Decoder.
func (i *Int) EnvDecode(v string) error {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return fmt.Errorf("%q is not a whole number", v)
	}
	if n < 0 {
		return fmt.Errorf("%d is negative", n)
	}
	*i = Int(n)
	return nil
}

// Float is a non-negative number.
type Float float64

// EnvDecode implements envconfig.Decoder.
func (f *Float) EnvDecode(v string) error {
	n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || n != n { // NaN
		return fmt.Errorf("%q is not a number", v)
	}
	if n < 0 {
		return fmt.Errorf("%v is negative", n)
	}
	*f = Float(n)
	return nil
}

// Seconds is a whole number of seconds.
type Seconds int64

// EnvDecode implements envconfig.Decoder.
func (s *Seconds) EnvDecode(v string) error {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return fmt.Errorf("%q is not a whole number of seconds", v)
	}
	if n < 0 {
		return fmt.Errorf("%d is negative", n)
	}
	if n > 366*24*3600 {
		return fmt.Errorf("%d seconds is more than a year", n)
	}
	*s = Seconds(n)
	return nil
}

// Duration is a Go duration ("90s", "5m") or a number of seconds.
type Duration time.Duration

// EnvDecode implements envconfig.Decoder.
func (d *Duration) EnvDecode(v string) error {
	v = strings.TrimSpace(v)
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return fmt.Errorf("%d is negative", n)
		}
		*d = Duration(time.Duration(n) * time.Second)
		return nil
	}
	x, err := time.ParseDuration(v)
	if err != nil {
		return fmt.Errorf("%q is not a duration (such as 30s, 5m) or a number of seconds", v)
	}
	if x < 0 {
		return fmt.Errorf("%s is negative", x)
	}
	*d = Duration(x)
	return nil
}

// JSONList is a JSON list of non-empty strings, at least one.
type JSONList []string

// EnvDecode implements envconfig.Decoder.
func (l *JSONList) EnvDecode(v string) error {
	var out []string
	if err := json.Unmarshal([]byte(v), &out); err != nil {
		return fmt.Errorf("%q is not a JSON list of strings, e.g. [\"*\"] or [\"v*\",\"latest\"]", v)
	}
	if len(out) == 0 {
		return fmt.Errorf("the list is empty; give at least one glob, e.g. [\"*\"]")
	}
	for _, s := range out {
		if strings.TrimSpace(s) == "" {
			return fmt.Errorf("%q holds an empty glob", v)
		}
	}
	*l = out
	return nil
}

// CSV is a comma-separated list; blanks around items are dropped.
type CSV []string

// EnvDecode implements envconfig.Decoder.
func (c *CSV) EnvDecode(v string) error {
	var out []string
	for item := range strings.SplitSeq(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			if strings.TrimSpace(v) != "" {
				return fmt.Errorf("%q has an empty item", v)
			}
			continue
		}
		out = append(out, item)
	}
	*c = out
	return nil
}

// Org is one organisation pair.
type Org struct {
	Source      string
	Destination string
}

func (o Org) String() string {
	if o.Source == o.Destination {
		return o.Source
	}
	return o.Source + ":" + o.Destination
}

// OrgList is a comma-separated list of "src" or "src:dst".
type OrgList []Org

// EnvDecode implements envconfig.Decoder.
func (l *OrgList) EnvDecode(v string) error {
	var out OrgList
	seen := make(map[string]bool)
	for item := range strings.SplitSeq(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			if strings.TrimSpace(v) == "" {
				continue
			}
			return fmt.Errorf("%q has an empty organization", v)
		}
		src, dst, pair := strings.Cut(item, ":")
		if !pair {
			dst = src
		}
		for _, name := range []string{src, dst} {
			if !quaymirror.ValidNamespace(name) {
				return fmt.Errorf("%q is not a valid organization name (lowercase letters, digits, and . _ - between them)", name)
			}
		}
		if seen[src] {
			return fmt.Errorf("organization %q is listed twice", src)
		}
		seen[src] = true
		out = append(out, Org{Source: src, Destination: dst})
	}
	*l = out
	return nil
}

// Visibility is a quaymirror.VisibilityPolicy.
type Visibility quaymirror.VisibilityPolicy

// EnvDecode implements envconfig.Decoder.
func (x *Visibility) EnvDecode(v string) error {
	switch p := quaymirror.VisibilityPolicy(strings.ToLower(strings.TrimSpace(v))); p {
	case quaymirror.VisibilityPrivate, quaymirror.VisibilityPublic, quaymirror.VisibilitySource:
		*x = Visibility(p)
		return nil
	}
	return fmt.Errorf("%q is not one of private, public, source", v)
}

// SourceType is the kind of source registry.
type SourceType string

// Source types.
const (
	SourceQuay   SourceType = "quay"
	SourceHarbor SourceType = "harbor"
	SourceOCI    SourceType = "oci"
)

// EnvDecode implements envconfig.Decoder.
func (t *SourceType) EnvDecode(v string) error {
	switch x := SourceType(strings.ToLower(strings.TrimSpace(v))); x {
	case SourceQuay, SourceHarbor, SourceOCI:
		*t = x
		return nil
	}
	return fmt.Errorf("%q is not one of quay, harbor, oci", v)
}

// Output is the report format.
type Output string

// Report formats.
const (
	OutputText Output = "text"
	OutputJSON Output = "json"
)

// EnvDecode implements envconfig.Decoder.
func (o *Output) EnvDecode(v string) error {
	switch x := Output(strings.ToLower(strings.TrimSpace(v))); x {
	case OutputText, OutputJSON:
		*o = x
		return nil
	}
	return fmt.Errorf("%q is not one of text, json", v)
}

// PushgatewayURL is the base URL of a Pushgateway (see
// metrics.ParsePushgatewayURL), or empty. Its String never shows the
// user information.
type PushgatewayURL string

// EnvDecode implements envconfig.Decoder.
func (p *PushgatewayURL) EnvDecode(v string) error {
	v = strings.TrimSpace(v)
	if v != "" {
		if _, err := metrics.ParsePushgatewayURL(v); err != nil {
			// metrics.ErrPushgatewayURL's text, then the URL without
			// user information and why.
			msg, _ := strings.CutPrefix(err.Error(), metrics.ErrPushgatewayURL.Error()+": ")
			return errors.New(msg)
		}
	}
	*p = PushgatewayURL(v)
	return nil
}

func (p PushgatewayURL) url() *url.URL {
	u, err := url.Parse(string(p))
	if p == "" || err != nil {
		return nil
	}
	return u
}

// String returns the URL without user information.
func (p PushgatewayURL) String() string { return redacted(p.url()) }

// SinkURL is the http(s) URL of a CloudEvents sink (K_SINK), or empty.
type SinkURL string

// EnvDecode implements envconfig.Decoder.
func (s *SinkURL) EnvDecode(v string) error {
	v = strings.TrimSpace(v)
	if v != "" {
		u, err := url.Parse(v)
		switch {
		case err != nil:
			return errors.New("not a URL")
		case u.Scheme != "http" && u.Scheme != "https":
			return fmt.Errorf("%s: the scheme must be http or https", metrics.Redact(u))
		case u.Hostname() == "":
			return fmt.Errorf("%s has no host", metrics.Redact(u))
		}
	}
	*s = SinkURL(v)
	return nil
}

// String returns the URL without user information, query or fragment.
func (s SinkURL) String() string {
	u, err := url.Parse(string(s))
	if s == "" || err != nil {
		return ""
	}
	return redacted(u)
}

func redacted(u *url.URL) string {
	if u == nil {
		return ""
	}
	return metrics.Redact(u)
}
