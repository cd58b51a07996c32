package quay

import (
	"net/netip"
	"testing"
)

func TestSSRFCheckedByVersion(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		v              string
		checked, known bool
	}{
		{"3.17.4", true, true}, {"3.17.5", true, true}, {"3.17.3", false, true},
		{"3.9.25", true, true}, {"3.9.24", false, true}, {"3.10.25", true, true}, {"3.12.21", true, true},
		{"3.18.0", false, true}, {"3.18.1", false, false}, {"3.16.5", false, true}, {"3.16.6", false, false},
		{"3.15.7", false, true}, {"3.6.2", false, true}, {"3.19.0", true, true}, {"4.0.0", false, false},
		{"", false, false}, {"3.17", false, false}, {"3.x.1", false, false},
	} {
		if checked, known := ssrfChecked(tc.v); checked != tc.checked || known != tc.known {
			t.Errorf("ssrfChecked(%q) = %v, %v; want %v, %v", tc.v, checked, known, tc.checked, tc.known)
		}
	}
}

func TestAddressClass(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]string{
		"127.0.0.1": "loopback", "::1": "loopback", "10.0.0.1": "private", "172.16.5.4": "private", "192.168.1.1": "private",
		"fd00::1": "private", "169.254.169.254": "link-local", "fe80::1": "link-local", "100.64.0.1": "reserved",
		"192.0.2.1": "reserved", "0.0.0.0": "reserved", "239.1.1.1": "multicast",
		"93.184.216.34": "", "2606:4700::1111": "",
	} {
		if got := addressClass(netip.MustParseAddr(addr)); got != want {
			t.Errorf("addressClass(%s) = %q, want %q", addr, got, want)
		}
	}
}
