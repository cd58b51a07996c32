package config

import (
	"context"
	"strings"
	"testing"

	"github.com/sethvargo/go-envconfig"
)

// FuzzConfiguration feeds arbitrary values to every setting: parsing and
// resolving must never panic, and a rejection is one line that names a
// setting and never repeats a token.
func FuzzConfiguration(f *testing.F) {
	for _, seed := range []struct{ key, value string }{
		{"TAG_GLOB", `["v*","latest"]`}, {"TAG_GLOB", `[`}, {"SYNC_INTERVAL", "600"}, {"SYNC_INTERVAL", "1e9"},
		{"ORGANIZATIONS", "a1:b2,c3"}, {"ORGANIZATIONS", ":,"}, {"SOURCE_REGISTRY", "http://[::1]:80"},
		{"DESTINATION_REGISTRY", "https://h:0"}, {"QPS", "Inf"}, {"TIMEOUT", "-1s"}, {"ROBOT_NAME", "a+b+c"},
		{"INCLUDE", "[!a-"}, {"OUTPUT", "JSON"}, {"VISIBILITY", "Source"}, {"BURST", "99999999999999999999"},
	} {
		f.Add(seed.key, seed.value)
	}
	settings := Envs()
	f.Fuzz(func(t *testing.T, key, value string) {
		env := validEnv()
		// Point the fuzzed value at a real setting most of the time.
		for _, s := range settings {
			if strings.EqualFold(s, key) {
				key = s
			}
		}
		env[key] = value
		c, err := Parse(context.Background(), envconfig.MapLookuper(env))
		if err == nil {
			_, err = Resolve(c, NeedSync)
		}
		if err == nil {
			return
		}
		msg := err.Error()
		if strings.Contains(msg, srcToken) || strings.Contains(msg, dstToken) || strings.Contains(msg, password) {
			t.Fatalf("error shows a secret: %q", msg)
		}
		setting, _, ok := strings.Cut(msg, ": ")
		if !ok || !validSetting(setting) {
			t.Fatalf("error %q does not start with a setting name", msg)
		}
	})
}

func validSetting(name string) bool {
	for _, s := range Envs() {
		if s == name {
			return true
		}
	}
	return false
}
