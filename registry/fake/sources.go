package fake

import (
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// SourcePolicy is where a registry lets mirrors pull from: the SSRF
// protection of Quay's 2026 releases (util/security/ssrf.py), which
// refuses external references with a scheme, without a path, or naming a
// loopback, private, link-local or otherwise reserved address or a
// cluster-internal name, unless SSRF_ALLOWED_HOSTS lets it through.
type SourcePolicy struct {
	// Enforce makes CreateMirror and UpdateMirror check the external
	// reference (off, the default, stores any reference, as Quay before
	// the hardening does).
	Enforce bool
	// AllowedHosts is SSRF_ALLOWED_HOSTS: hostnames (case-insensitive),
	// addresses and CIDRs exempt from the blocks.
	AllowedHosts []string
}

func (p SourcePolicy) clone() SourcePolicy {
	p.AllowedHosts = slices.Clone(p.AllowedHosts)
	return p
}

// CheckReference checks an external reference against the registry's
// source policy, enforced or not: nil, or an *Error for
// FieldExternalReference with Quay's detail, wrapping
// ErrSourceNotAllowed for a blocked host and ErrInvalid otherwise. With
// resolve, the check resolves the host as Quay's API does; the model
// resolves no name: names under the reserved ".invalid" domain do not
// resolve, every other name resolves to a public address. Without it only
// literal addresses and blocked names are checked (the check inside
// Quay's data model).
func (r *Registry) CheckReference(ref string, resolve bool) error {
	r.mu.Lock()
	p := r.sources
	r.mu.Unlock()
	if err := p.check(ref, resolve); err != nil {
		return err
	}
	return nil
}

func (p SourcePolicy) check(ref string, resolve bool) *Error {
	msg, blocked := p.problem(ref, resolve)
	switch {
	case msg == "":
		return nil
	case blocked:
		return &Error{Message: msg, Field: quaymirror.FieldExternalReference, Err: quaymirror.ErrSourceNotAllowed}
	}
	return &Error{Message: msg, Field: quaymirror.FieldExternalReference, Err: quaymirror.ErrInvalid}
}

var registryHostname = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$`)

var blockedHostnames = map[string]bool{
	"localhost": true, "metadata.google.internal": true, "metadata.azure.internal": true, "metadata": true,
	"kubernetes.default.svc": true, "kubernetes.default.svc.cluster.local": true, "kubernetes.default": true, "kubernetes": true,
}

var blockedPrefixes = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
		"192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
		"203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32", "::1/128", "64:ff9b::/96",
		"100::/64", "2001:db8::/32", "fc00::/7", "fe80::/10", "::ffff:0:0/96",
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// problem is validate_external_registry_reference: the ValueError's
// detail, or "", and whether it is an SSRFBlockedError.
func (p SourcePolicy) problem(ref string, resolve bool) (msg string, blocked bool) {
	switch {
	case strings.TrimSpace(ref) == "":
		return "External registry reference is required", false
	case strings.IndexFunc(ref, unicode.IsSpace) >= 0:
		return "External registry reference must not include whitespace", false
	case strings.Contains(ref, "://"):
		return "External registry reference must not include a URL scheme", false
	case strings.ContainsAny(ref, `?#\%`):
		return "External registry reference contains an invalid character", false
	}
	registry, path, ok := strings.Cut(ref, "/")
	if !ok || registry == "" || path == "" {
		return "External registry reference must include a repository path", false
	}
	const badAuthority = "External registry reference contains an invalid registry authority"
	const badPort = "External registry reference contains an invalid registry port"
	const badHost = "External registry reference must include a valid registry hostname"
	host, port := registry, ""
	if strings.HasPrefix(registry, "[") {
		end := strings.Index(registry, "]")
		if end < 0 {
			return badAuthority, false
		}
		suffix := registry[end+1:]
		if suffix != "" && !strings.HasPrefix(suffix, ":") {
			return badAuthority, false
		}
		if suffix == ":" {
			return badPort, false
		}
		host, port = registry[1:end], strings.TrimPrefix(suffix, ":")
	} else {
		if strings.Count(registry, ":") > 1 {
			return badAuthority, false
		}
		if strings.HasSuffix(registry, ":") {
			return badPort, false
		}
		host, port, _ = strings.Cut(registry, ":")
	}
	if strings.Contains(host, "@") || host == "" {
		return badHost, false
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 0 || n > 65535 {
			return badAuthority, false
		}
		if n == 0 {
			return badPort, false
		}
	}
	host = strings.ToLower(host)
	ip, err := netip.ParseAddr(host)
	if err != nil && (strings.HasSuffix(host, ".") || !registryHostname.MatchString(host)) {
		return badHost, false
	}
	if err == nil {
		if ipBlocked(ip) && !p.allowed(host, ip) {
			return "URL points to a private or reserved IP address", true
		}
		return "", false
	}
	if (blockedHostnames[host] || strings.HasSuffix(host, ".internal") || strings.HasSuffix(host, ".local")) && !p.allowed(host, netip.Addr{}) {
		return "Hostname '" + host + "' is not allowed", true
	}
	if resolve && (strings.HasSuffix(host, ".invalid") || host == "invalid") {
		return "Cannot resolve hostname '" + host + "'", false
	}
	return "", false
}

func ipBlocked(ip netip.Addr) bool {
	for _, p := range blockedPrefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return !ip.IsGlobalUnicast() || ip.IsPrivate() || ip.IsMulticast()
}

// allowed applies SSRF_ALLOWED_HOSTS: hostnames (case-insensitive) and
// CIDRs.
func (p SourcePolicy) allowed(host string, ip netip.Addr) bool {
	for _, entry := range p.AllowedHosts {
		if p, err := netip.ParsePrefix(entry); err == nil {
			if ip.IsValid() && p.Contains(ip) {
				return true
			}
			continue
		}
		if a, err := netip.ParseAddr(entry); err == nil {
			if ip.IsValid() && a == ip {
				return true
			}
			continue
		}
		if strings.EqualFold(entry, host) {
			return true
		}
	}
	return false
}
