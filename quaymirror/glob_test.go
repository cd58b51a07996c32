package quaymirror

import "testing"

// The expectations were produced by Python's fnmatch.fnmatchcase, the
// function Quay's mirror worker uses.
func TestMatchGlobFollowsFnmatch(t *testing.T) {
	t.Parallel()
	cases := []struct {
		pattern, name string
		want          bool
	}{
		{"*", "latest", true},
		{"*", "", true},
		{"v*", "v1.2", true},
		{"v*", "1.2", false},
		{"*-rc?", "1.0-rc1", true},
		{"*-rc?", "1.0-rc10", false},
		{"[0-9]*", "1.0", true},
		{"[0-9]*", "latest", false},
		{"[!0-9]*", "latest", true},
		{"[!0-9]*", "1", false},
		{"[]]x", "]x", true},
		{"[!]]x", "ax", true},
		{"[!]]x", "]x", false},
		{"[a-", "[a-", true},
		{"[a-", "a", false},
		{"a[", "a[", true},
		{"team-*", "team-a/sub", true},
		{"*/*", "a/b", true},
		{"*/*", "ab", false},
		{"Latest", "latest", false},
		{"?", "é", true},
		{"é?", "éa", true},
		{"[a-c]x", "bx", true},
		{"[a-c]x", "dx", false},
		{"*a*b*c", "xxaxxbxxc", true},
		{"*a*b*c", "xxaxxcxxb", false},
		{"**", "x", true},
		{"a*", "a", true},
		{"[^a]", "^", true},
		{"[^a]", "b", false},
		{"x[a-]", "x-", true},
		{"x[z-a]", "xz", false},
		{"", "", true},
		{"", "a", false},
		{"a", "", false},
	}
	for _, c := range cases {
		if got := MatchGlob(c.pattern, c.name); got != c.want {
			t.Errorf("MatchGlob(%q, %q) = %v, want %v", c.pattern, c.name, got, c.want)
		}
	}
}
