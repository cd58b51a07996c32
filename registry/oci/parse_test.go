package oci

import (
	"fmt"
	"net/http"
	"testing"
)

func TestParseChallenges(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want string
	}{
		{`Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="registry:catalog:*"`,
			`[{bearer map[realm:https://auth.docker.io/token scope:registry:catalog:* service:registry.docker.io]}]`},
		{`Basic realm="harbor"`, `[{basic map[realm:harbor]}]`},
		{`Basic realm="a, b", Bearer realm="https://x/t",error="insufficient_scope"`,
			`[{basic map[realm:a, b]} {bearer map[error:insufficient_scope realm:https://x/t]}]`},
		{`bearer Realm=https://x/token , Service = "s\"q"`, `[{bearer map[realm:https://x/token service:s"q]}]`},
		{`Negotiate`, `[{negotiate map[]}]`},
		{``, `[]`},
	} {
		if got := fmt.Sprint(parseChallenges(tc.in)); got != tc.want {
			t.Errorf("parseChallenges(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
	h := http.Header{}
	h.Add("WWW-Authenticate", `Basic realm="r"`)
	h.Add("WWW-Authenticate", `Bearer realm="https://t/token"`)
	if ch, ok := pickChallenge(h); !ok || ch.scheme != "bearer" {
		t.Errorf("pickChallenge prefers %+v, want the Bearer challenge", ch)
	}
}

func TestOrders(t *testing.T) {
	t.Parallel()
	// The distribution registry's order puts "/" first.
	if !(segCompare("team-a/x", "team-a-b") < 0) || !(segCompare("team-a", "team-a/x") < 0) {
		t.Error("segCompare does not sort / before other characters")
	}
	for _, tc := range []struct {
		names []string
		last  string
		want  bool
	}{
		{[]string{"team-a/x", "team-a/y", "team-ab"}, "team-a/", true},
		{[]string{"team-a/x", "team-a-b/y"}, "team-a/", true}, // path order
		{[]string{"team-a-b/y", "team-a/x"}, "team-a/", false},
		{[]string{"aaa", "team-a/x"}, "team-a/", false},
		{[]string{"zzz", "team-a/x"}, "team-a/", false},
	} {
		if got := pagesByLast(tc.names, tc.last); got != tc.want {
			t.Errorf("pagesByLast(%q, %q) = %v, want %v", tc.names, tc.last, got, tc.want)
		}
	}
}
