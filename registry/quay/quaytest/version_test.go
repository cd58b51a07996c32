package quaytest_test

import (
	"testing"

	"github.com/quaymirror/quaymirror/registry/quay/quaytest"
)

func TestParseVersion(t *testing.T) {
	for in, want := range map[string]string{
		"3.6": "3.6.2", "3.15": "3.15.7", "3.17": "3.17.4", "3.18": "3.18.0",
		"3.17.0": "3.17.0", "v3.12.21": "3.12.21", "3.19": "3.19.0",
	} {
		v, err := quaytest.ParseVersion(in)
		if err != nil || v.String() != want {
			t.Errorf("ParseVersion(%q) = %v, %v; want %s", in, v, err, want)
		}
	}
	for _, bad := range []string{"", "3", "2.9", "3.x", "3.1.2.3", "3.-1"} {
		if _, err := quaytest.ParseVersion(bad); err == nil {
			t.Errorf("ParseVersion(%q) accepted", bad)
		}
	}
	if quaytest.V3_6.Compare(quaytest.V3_15) != -1 || quaytest.V3_18.Compare(quaytest.V3_17) != 1 || quaytest.V3_17.Compare(quaytest.V3_17) != 0 {
		t.Error("Compare misorders the presets")
	}
}
