package quay

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/quaymirror/quaymirror/quaymirror"
)

var _ quaymirror.SourceChecker = (*Client)(nil)

// Resolver looks host names up; *net.Resolver is one. See WithResolver.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// CheckSource implements quaymirror.SourceChecker for Quay's protection
// against server-side request forgery: from 3.17.4 (and 3.9.25, 3.10.25,
// 3.12.21 on those lines) Quay refuses a mirror whose external_reference
// host is loopback, private, link-local or otherwise not public, or a name
// such as localhost, *.local or *.internal, unless its config.yaml lists
// it in SSRF_ALLOWED_HOSTS, which no API shows. CheckSource returns an
// error wrapping ErrSourceNotAllowed when host is such a host (its name
// resolved with the Client's Resolver, from where quaymirror runs) and the
// server's version (GET /config, 3.16+) has the check or is unknown. A
// server known to lack the check, a public host or a name that does not
// resolve from here yield nil.
func (c *Client) CheckSource(ctx context.Context, host string) error {
	hostname := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		hostname = h
	}
	hostname = strings.ToLower(strings.Trim(hostname, "[]"))
	version := ""
	sc, err := c.cfg.get(ctx, c.now, c.readServerConfig)
	switch {
	case err == nil:
		version = sc.version
	case ctx.Err() != nil:
		return ctx.Err()
	}
	checked, known := ssrfChecked(version)
	if known && !checked {
		return nil
	}
	why := c.notPublic(ctx, hostname)
	if why == "" {
		return nil
	}
	who := "a destination running Quay 3.17.4 or later (or 3.9.25, 3.10.25, 3.12.21 and later on those lines; " +
		"this one does not tell its version) refuses mirrors of such a host"
	if known {
		who = "the destination, Quay " + version + ", refuses mirrors of such a host"
	}
	return &sourceWarning{msg: fmt.Sprintf("%s %s: %s unless SSRF_ALLOWED_HOSTS in its config.yaml lists it", host, why, who)}
}

// sourceWarning is what CheckSource found.
type sourceWarning struct{ msg string }

func (w *sourceWarning) Error() string { return w.msg }
func (w *sourceWarning) Unwrap() error { return quaymirror.ErrSourceNotAllowed }

// notPublic says why Quay would take hostname for an internal host ("is
// 10.1.2.3, a private address"), or "".
func (c *Client) notPublic(ctx context.Context, hostname string) string {
	if ip, err := netip.ParseAddr(hostname); err == nil {
		if class := addressClass(ip); class != "" {
			return fmt.Sprintf("is %s, a %s address", ip, class)
		}
		return ""
	}
	switch {
	case hostname == "localhost", hostname == "metadata", strings.HasPrefix(hostname, "kubernetes"),
		strings.HasSuffix(hostname, ".local"), strings.HasSuffix(hostname, ".internal"):
		return "is a name Quay takes for an internal host"
	}
	addrs, err := c.resolver.LookupNetIP(ctx, "ip", hostname)
	if err != nil {
		c.logger.Debug("the source host does not resolve from here; the destination may resolve it", "host", hostname, "error", err)
		return ""
	}
	for _, ip := range addrs {
		if class := addressClass(ip.Unmap()); class != "" {
			return fmt.Sprintf("resolves (from here) to %s, a %s address", ip.Unmap(), class)
		}
	}
	return ""
}

// Address ranges Quay refuses beyond what netip classifies: shared
// address space, documentation, benchmarking, IETF and NAT64 ranges.
var reservedPrefixes = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{"100.64.0.0/10", "192.0.0.0/24", "192.0.2.0/24", "198.18.0.0/15", "198.51.100.0/24",
		"203.0.113.0/24", "240.0.0.0/4", "64:ff9b::/96", "100::/64", "2001:db8::/32"} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// addressClass names the kind of an address Quay refuses ("loopback",
// "private", ...), or "" for a public one.
func addressClass(ip netip.Addr) string {
	switch {
	case ip.IsLoopback():
		return "loopback"
	case ip.IsPrivate():
		return "private"
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return "link-local"
	case ip.IsMulticast():
		return "multicast"
	case ip.IsUnspecified() || !ip.IsGlobalUnicast():
		return "reserved"
	}
	for _, p := range reservedPrefixes {
		if p.Contains(ip) {
			return "reserved"
		}
	}
	return ""
}

// ssrfChecked tells whether Quay version v ("3.17.4") refuses mirrors of
// internal hosts, from the release tags studied (to 3.18.0 and master):
// 3.9.25, 3.10.25, 3.12.21 and 3.17.4 brought the check to their lines,
// master has it (taken as 3.19 on), and the newest patch of every other
// line lacks it. Later patches of those lines, and an unknown version, are
// not known.
func ssrfChecked(v string) (checked, known bool) {
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return false, false
	}
	var n [3]int
	for i, p := range parts {
		x, err := strconv.Atoi(p)
		if err != nil {
			return false, false
		}
		n[i] = x
	}
	major, minor, patch := n[0], n[1], n[2]
	firstPatched := map[int]int{9: 25, 10: 25, 12: 21, 17: 4}
	newestStudied := map[int]int{8: 15, 11: 13, 13: 11, 14: 8, 15: 7, 16: 5, 18: 0}
	switch {
	case major != 3:
		return false, false
	case minor >= 19:
		return true, true
	case minor < 8:
		return false, true
	}
	if first, ok := firstPatched[minor]; ok {
		return patch >= first, true
	}
	if newest, ok := newestStudied[minor]; ok && patch <= newest {
		return false, true
	}
	return false, false
}
