package quaymirror

import (
	"regexp"
	"slices"
	"strings"
	"time"
)

// Defaults and limits of a Policy.
const (
	// DefaultSyncInterval is the sync interval of new mirrors when the
	// policy leaves it zero (the existing per-organisation job's 600 s).
	DefaultSyncInterval = 600 * time.Second
	// MinSyncInterval is the shortest interval accepted. Quay's schema
	// allows 0, but its worker divides by the interval.
	MinSyncInterval = 60 * time.Second
	// MinSkopeoTimeout is Quay's lower bound for skopeo_timeout_interval.
	MinSkopeoTimeout = 300 * time.Second
)

// DefaultTagGlobs mirrors every tag.
func DefaultTagGlobs() []string { return []string{"*"} }

// VisibilityPolicy decides the visibility of the repositories the engine
// creates.
type VisibilityPolicy string

// Visibility policies.
const (
	// VisibilityPrivate creates private repositories (the default).
	VisibilityPrivate VisibilityPolicy = "private"
	// VisibilityPublic creates public repositories.
	VisibilityPublic VisibilityPolicy = "public"
	// VisibilitySource copies the source repository's visibility.
	VisibilitySource VisibilityPolicy = "source"
)

// Policy is how one source organisation is mirrored into one destination
// organisation. The zero values of optional fields are the defaults noted.
type Policy struct {
	// SourceRegistry is the source registry's host[:port] as the
	// destination's mirror worker reaches it; mirrors pull from
	// SourceRegistry/SourceNamespace/<repo>. Required.
	SourceRegistry string
	// SourceNamespace is the source organisation. Required.
	SourceNamespace string
	// DestinationNamespace is the destination organisation; empty means
	// the same name as SourceNamespace.
	DestinationNamespace string

	// TagGlobs select the tags to mirror (fnmatch, see MatchGlob); empty
	// means ["*"].
	TagGlobs []string
	// SyncInterval is the mirrors' interval; zero means
	// DefaultSyncInterval. At least MinSyncInterval.
	SyncInterval time.Duration
	// Robot is the destination robot account that pushes: "org+short" of
	// the destination organisation. Required.
	Robot string
	// Username and Password are the pull credentials at the source written
	// into every mirror. Both or neither.
	Username string
	Password Secret
	// SkipTLSVerify turns TLS verification towards the source off in the
	// mirrors (verify_tls false). Leave it off.
	SkipTLSVerify bool
	// UnsignedImages lets the mirrors copy unsigned images.
	UnsignedImages bool
	// Proxy is the proxy the destination's worker uses towards the source.
	Proxy Proxy
	// SkopeoTimeout bounds each image copy; zero leaves the server's
	// default (300 s where the server requires a value). At least
	// MinSkopeoTimeout when set.
	SkopeoTimeout time.Duration
	// ArchitectureFilter limits mirrored platforms (Quay 3.17+); empty
	// means all.
	ArchitectureFilter []string

	// Visibility of created repositories; empty means VisibilityPrivate.
	Visibility VisibilityPolicy
	// SkipSyncNow leaves new mirrors to their scheduled start instead of
	// asking for an immediate synchronisation.
	SkipSyncNow bool
	// Recreate re-pushes the full configuration of every existing mirror,
	// password included (after a credential rotation, say).
	Recreate bool
	// Include, when not empty, limits the run to repositories matching
	// one of these globs; Exclude removes repositories matching one of
	// its globs. Both use MatchGlob.
	Include []string
	Exclude []string
	// AdoptExisting lets the engine turn destination repositories that
	// already hold tags into mirrors. Quay's mirror deletes every tag that
	// its rules do not select, so this is off by default and such
	// repositories are skipped.
	AdoptExisting bool
	// DisableOrphans disables (is_enabled=false) the mirrors of
	// repositories that are gone from the source. Orphans are never
	// deleted; without this option they are only reported.
	DisableOrphans bool

	// VerifyGrace is how long Engine.Verify gives the mirrors to copy a
	// change made at the source: a tag changed there less than
	// VerifyGrace ago that the destination lacks, or holds at another
	// digest, is pending, not missing or stale. Zero means twice
	// SyncInterval: a mirror that runs on time copies a change within
	// one interval, and its run may take a while.
	VerifyGrace time.Duration
}

var (
	// Quay's user and organisation names.
	namespaceRe = regexp.MustCompile(`^[a-z0-9]+(?:[._-][a-z0-9]+)*$`)
	// Quay's repository name segments (joined by "/", 255 characters in
	// all).
	repoSegmentRe = regexp.MustCompile(`^[a-z0-9][.a-z0-9_-]{0,254}$`)
	// Quay's robot short names: validate_username (util/validation.py),
	// which create_robot applies in every version, 2 to 255 characters.
	// Only the older web UI was stricter (^[a-z][a-z0-9_]{1,254}$).
	robotShortRe = namespaceRe
	// host[:port], as external_reference accepts it.
	registryRe = regexp.MustCompile(`^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::[1-9][0-9]{0,4})?$`)
)

// ValidNamespace reports whether name is a valid Quay organisation name.
func ValidNamespace(name string) bool {
	return len(name) >= 2 && len(name) <= 255 && namespaceRe.MatchString(name)
}

// ValidRepositoryName reports whether name is a valid Quay repository name
// (segments separated by "/").
func ValidRepositoryName(name string) bool {
	if name == "" || len(name) > 255 {
		return false
	}
	for seg := range strings.SplitSeq(name, "/") {
		if !repoSegmentRe.MatchString(seg) {
			return false
		}
	}
	return true
}

// SplitRobot splits a full robot name "org+short" into its parts. ok is
// false when the name is not of that form or the parts are invalid.
func SplitRobot(robot string) (org, short string, ok bool) {
	org, short, found := strings.Cut(robot, "+")
	if !found || !ValidNamespace(org) || !ValidRobotShortName(short) {
		return "", "", false
	}
	return org, short, true
}

// ValidRobotShortName reports whether short is a robot short name Quay
// accepts: 2 to 255 characters, lowercase letters and digits in runs
// separated by single ".", "_" or "-" (mirror, mirror-bot, ci.bot, 1bot).
func ValidRobotShortName(short string) bool {
	return len(short) >= 2 && len(short) <= 255 && robotShortRe.MatchString(short)
}

// ValidRegistryHost reports whether host is a host[:port] usable in an
// external reference (no scheme, no path).
func ValidRegistryHost(host string) bool {
	return len(host) <= 253 && registryRe.MatchString(host)
}

// Architectures Quay's mirror accepts in an architecture filter.
var architectures = []string{"amd64", "arm64", "ppc64le", "s390x"}

// withDefaults returns p with the documented defaults filled in.
func (p Policy) withDefaults() Policy {
	if p.DestinationNamespace == "" {
		p.DestinationNamespace = p.SourceNamespace
	}
	if len(p.TagGlobs) == 0 {
		p.TagGlobs = DefaultTagGlobs()
	}
	if p.SyncInterval == 0 {
		p.SyncInterval = DefaultSyncInterval
	}
	if p.Visibility == "" {
		p.Visibility = VisibilityPrivate
	}
	if p.VerifyGrace == 0 {
		p.VerifyGrace = 2 * p.SyncInterval
	}
	return p
}

// Validate checks the policy, defaults applied, and returns a *PolicyError
// naming the first invalid field.
func (p Policy) Validate() error {
	p = p.withDefaults()
	switch {
	case p.SourceRegistry == "":
		return policyErr("SourceRegistry", "is required")
	case !ValidRegistryHost(p.SourceRegistry):
		return policyErr("SourceRegistry", "%q is not a host[:port] (no scheme, no path)", p.SourceRegistry)
	case !ValidNamespace(p.SourceNamespace):
		return policyErr("SourceNamespace", "%q is not a valid organization name", p.SourceNamespace)
	case !ValidNamespace(p.DestinationNamespace):
		return policyErr("DestinationNamespace", "%q is not a valid organization name", p.DestinationNamespace)
	case p.SyncInterval < MinSyncInterval:
		return policyErr("SyncInterval", "%s is below the minimum of %s", p.SyncInterval, MinSyncInterval)
	case p.SyncInterval%time.Second != 0:
		return policyErr("SyncInterval", "%s is not a whole number of seconds", p.SyncInterval)
	case p.SkopeoTimeout != 0 && p.SkopeoTimeout < MinSkopeoTimeout:
		return policyErr("SkopeoTimeout", "%s is below Quay's minimum of %s", p.SkopeoTimeout, MinSkopeoTimeout)
	case p.SkopeoTimeout%time.Second != 0:
		return policyErr("SkopeoTimeout", "%s is not a whole number of seconds", p.SkopeoTimeout)
	case p.Username == "" && p.Password != "":
		return policyErr("Username", "is required when a password is set")
	case p.VerifyGrace < 0:
		return policyErr("VerifyGrace", "%s is negative", p.VerifyGrace)
	}
	if err := validateTagGlobs(p.TagGlobs); err != nil {
		return err
	}
	org, _, ok := SplitRobot(p.Robot)
	switch {
	case p.Robot == "":
		return policyErr("Robot", "is required (the destination robot account, org+name)")
	case !ok:
		return policyErr("Robot", "%q is not a robot name of the form org+name", p.Robot)
	case org != p.DestinationNamespace:
		return policyErr("Robot", "%q belongs to %q, not to the destination organization %q", p.Robot, org, p.DestinationNamespace)
	}
	switch p.Visibility {
	case VisibilityPrivate, VisibilityPublic, VisibilitySource:
	default:
		return policyErr("Visibility", "%q is not one of private, public, source", p.Visibility)
	}
	for _, a := range p.ArchitectureFilter {
		if !slices.Contains(architectures, a) {
			return policyErr("ArchitectureFilter", "%q is not one of %s", a, strings.Join(architectures, ", "))
		}
	}
	for _, set := range []struct {
		name  string
		globs []string
	}{{"Include", p.Include}, {"Exclude", p.Exclude}} {
		for _, g := range set.globs {
			if err := validGlob(g); err != "" {
				return policyErr(set.name, "%q %s", g, err)
			}
		}
	}
	return nil
}

func validateTagGlobs(globs []string) error {
	for _, g := range globs {
		if err := validGlob(g); err != "" {
			return policyErr("TagGlobs", "%q %s", g, err)
		}
		if strings.Contains(g, ",") {
			return policyErr("TagGlobs", "%q contains a comma; give each glob as its own list entry", g)
		}
	}
	return nil
}

// validGlob returns why g is not a usable glob, or "".
func validGlob(g string) string {
	switch {
	case strings.TrimSpace(g) == "":
		return "is empty"
	case strings.ContainsFunc(g, func(r rune) bool { return r < ' ' || r == ' ' || r == 0x7f }):
		return "contains whitespace or control characters"
	case len(g) > 255:
		return "is longer than 255 characters"
	}
	return ""
}
