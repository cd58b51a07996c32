package quaytest

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is the Quay release the emulator imitates. Behaviour changes
// are keyed to the release tags of quay/quay where they appeared (see
// quay-api.md §5); any version can be asked for, the four presets are the
// ones the tests cover.
type Version struct {
	Major, Minor, Patch int
}

// Preset versions: the newest patch of each line in the studied quay/quay
// snapshot.
var (
	// V3_6: no skopeo timeout, no architecture filter, no
	// unsigned_images; any extra key in a mirror POST is a 500.
	V3_6 = Version{3, 6, 2}
	// V3_15: skopeo_timeout_interval required on POST; architecture_filter
	// still a 500.
	V3_15 = Version{3, 15, 7}
	// V3_17: architecture filter, organisation-level mirroring, and the
	// 2026-08-05 hardening (SSRF checks on external_reference, PUT
	// validated before anything is applied, POST dates checked).
	V3_17 = Version{3, 17, 4}
	// V3_18: mirror health endpoint; without the 2026-08-05 hardening.
	V3_18 = Version{3, 18, 0}
)

// Versions returns the preset versions, oldest first.
func Versions() []Version { return []Version{V3_6, V3_15, V3_17, V3_18} }

// ParseVersion parses "3.17", "3.17.4" or "v3.17.4". A version without a
// patch number means the newest patch of that line among the presets, or
// patch 0 for other lines.
func ParseVersion(s string) (Version, error) {
	parts := strings.Split(strings.TrimPrefix(strings.TrimSpace(s), "v"), ".")
	if len(parts) < 2 || len(parts) > 3 {
		return Version{}, fmt.Errorf("quaytest: version %q is not MAJOR.MINOR[.PATCH]", s)
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 {
			return Version{}, fmt.Errorf("quaytest: version %q is not MAJOR.MINOR[.PATCH]", s)
		}
		n[i] = v
	}
	v := Version{n[0], n[1], n[2]}
	if v.Major != 3 {
		return Version{}, fmt.Errorf("quaytest: version %q: only Quay 3.x is emulated", s)
	}
	if len(parts) == 2 {
		for _, p := range Versions() {
			if p.Major == v.Major && p.Minor == v.Minor {
				return p, nil
			}
		}
	}
	return v, nil
}

// String returns "MAJOR.MINOR.PATCH".
func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// Compare returns -1, 0 or +1 as v is older than, equal to or newer than o.
func (v Version) Compare(o Version) int {
	for _, d := range [3]int{v.Major - o.Major, v.Minor - o.Minor, v.Patch - o.Patch} {
		switch {
		case d < 0:
			return -1
		case d > 0:
			return 1
		}
	}
	return 0
}

func (v Version) atLeast(major, minor, patch int) bool {
	return v.Compare(Version{major, minor, patch}) >= 0
}

func (v Version) line(major, minor int) bool { return v.Major == major && v.Minor == minor }

// skopeoTimeout: skopeo_timeout_interval exists (GET, PUT, required on
// POST).
func (v Version) skopeoTimeout() bool { return v.atLeast(3, 15, 0) }

// skopeoDroppedOnPost: 3.14.8 pops the field before creating (3.14.7
// pops it too, but its schema refuses the key before: strictCreateMirror).
func (v Version) skopeoDroppedOnPost() bool { return v.line(3, 14) && v.Patch >= 7 }

// strictCreateMirror: 3.14.7's CreateMirrorConfig has
// "additionalProperties": false, so any undeclared top-level key
// (skopeo_timeout_interval included) is a 400 from the schema; 3.14.8
// removed it again.
func (v Version) strictCreateMirror() bool { return v.line(3, 14) && v.Patch == 7 }

// architectureFilter: architecture_filter exists.
func (v Version) architectureFilter() bool { return v.atLeast(3, 17, 0) }

// architectureDroppedOnPost: 3.16.4 and 3.16.5 pop the field before
// creating.
func (v Version) architectureDroppedOnPost() bool { return v.line(3, 16) && v.Patch >= 4 }

// unsignedImages: external_registry_config.unsigned_images exists (3.7).
func (v Version) unsignedImages() bool { return v.atLeast(3, 7, 0) }

// hardened: the 2026-08-05 patch releases (and master): SSRF validation of
// external_reference, PUT validated before anything is applied, malformed
// POST dates answered 400 instead of 500. 3.18.0 predates it.
func (v Version) hardened() bool {
	switch {
	case v.line(3, 9):
		return v.Patch >= 25
	case v.line(3, 10):
		return v.Patch >= 25
	case v.line(3, 12):
		return v.Patch >= 21
	case v.line(3, 17):
		return v.Patch >= 4
	}
	return v.atLeast(3, 19, 0)
}

// referenceCheckedInModel: the hardened 3.9, 3.10 and 3.12 lines check a
// mirror POST's external_reference only inside
// enable_mirroring_for_repository (after the rule row is created and the
// robot granted write, without DNS, answering 400 {"message"} with the
// detail); their PUT validates in the API like 3.17.4.
func (v Version) referenceCheckedInModel() bool {
	return v.hardened() && (v.line(3, 9) || v.line(3, 10) || v.line(3, 12))
}

// orgMirroring: organisation-level mirroring exists (with
// FEATURE_ORG_MIRROR).
func (v Version) orgMirroring() bool { return v.atLeast(3, 17, 0) }

// decryptFailureShown: GET of a mirror whose username does not decrypt
// shows "(invalid. please re-enter)" instead of failing with a 500: only
// 3.16.4 and 3.16.5 define the logger its error path uses.
func (v Version) decryptFailureShown() bool { return v.line(3, 16) && v.Patch >= 4 }

// webConfig: GET /config (the web UI's configuration) exists.
func (v Version) webConfig() bool { return v.atLeast(3, 8, 0) }

// versionNumber: GET /config tells the version (without billing).
func (v Version) versionNumber() bool { return v.atLeast(3, 16, 0) }

// mirrorHealth: GET /api/v1/repository/mirror/health exists.
func (v Version) mirrorHealth() bool { return v.atLeast(3, 18, 0) }

// applicationRepos: repo_kind "application" still accepted.
func (v Version) applicationRepos() bool { return !v.atLeast(3, 17, 0) }

// Features are the Quay feature flags and settings the emulator honours.
type Features struct {
	// RepoMirror is FEATURE_REPO_MIRROR: without it every /mirror route
	// and changestate answer 404.
	RepoMirror bool
	// OrgMirror is FEATURE_ORG_MIRROR (3.17+): organisation-level
	// mirroring endpoints and the locks they put on an organisation.
	OrgMirror bool
	// SparseIndex is FEATURE_SPARSE_INDEX, which a non-empty
	// architecture_filter needs (3.17+).
	SparseIndex bool
	// AnonymousAccess is FEATURE_ANONYMOUS_ACCESS: without it anonymous
	// API calls get 401 "Anonymous access is not allowed".
	AnonymousAccess bool
	// SuperusersFullAccess is FEATURE_SUPERUSERS_FULL_ACCESS: a superuser
	// token with the super:user scope passes every permission check.
	SuperusersFullAccess bool
	// SSRFAllowedHosts is SSRF_ALLOWED_HOSTS: hostnames and CIDRs exempt
	// from the external_reference checks of hardened versions.
	SSRFAllowedHosts []string
}

// DefaultFeatures is what New uses unless WithFeatures says otherwise:
// repository mirroring on (the point of the emulator), sparse index on (so
// the architecture filter of 3.17+ is usable; Quay's default is off),
// anonymous access on, organisation-level mirroring off, superusers
// without full access (Quay's defaults).
func DefaultFeatures() Features {
	return Features{RepoMirror: true, SparseIndex: true, AnonymousAccess: true}
}

// flask2: Flask 2.3 / Werkzeug 2.3+ (3.10+) rather than Flask 1.1: a
// request body that is not declared JSON is a 415 instead of a missing
// body, and slash redirects are 308 instead of 301.
func (v Version) flask2() bool { return v.atLeast(3, 10, 0) }
