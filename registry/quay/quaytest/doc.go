// Package quaytest is a Quay API emulator: an http.Handler that answers
// /api/v1 the way a real Red Hat Quay does, so the real HTTP client
// (registry/quay) can be tested end to end and quaymirror can be tried
// without a Quay.
//
// It is an HTTP skin over registry/fake, the model of Quay, in the way
// go-containerregistry's pkg/registry serves a store: each request is
// carried out by the model's operations (which count it, run its hooks and
// injected failures, and hold Quay's semantics: validation, how a mirror
// change applies, listing filters, permissions of the accounts); the
// emulator adds what is HTTP- or version-specific: routes, OAuth bearer
// tokens and their scopes, request schemas and discovery, status codes
// and error bodies, the order in which a version checks and applies, its
// quirks, and faults (registry/emulation's Front, shared with other
// emulators).
//
// The emulator follows quay-api.md and Quay's source, quirks included:
// status codes (PUT mirror answers 201, sync-now and sync-cancel 204,
// changestate 200 {"success": true}, bodiless successes the JSON string
// ""), the six error body shapes (ApiException, bare {"detail"} with the
// upstream "exits" typo, {"message"} for model errors such as a missing
// robot, {"error"} for CSRF, Werkzeug's HTML for unrouted paths and
// unhandled exceptions, nginx's HTML for 429), bearer tokens whose scopes
// cap the user's roles, anonymous fallbacks for bad tokens, required list
// parameters, 100-repository pages with opaque tokens that silently
// restart when garbled or expired, Python's strict start-date parsing and
// microsecond dates, robot validation (and Quay's robot name rule), the
// first-proxy-key bug, tags (at most 500 in a repository read, the
// newest; every tag, newest first, in pages of the tag endpoint), the
// listing filter (without public=true only the
// repositories the user reaches by a permission, a team or an
// organisation role), the orphan tag rule row a failed mirror POST leaves
// (a later root_rule PUT lands on it), mirrors whose stored credentials no
// longer decrypt ([Emulator.BreakCredentials]: GET answers 500), read-only
// mode ([Emulator.SetReadOnly]: every write 503 "is_readonly"), and the
// feature flags. GET /config, at the server root and anonymous (3.8+),
// shows the feature flags (SPARSE_INDEX from 3.17), registry_state and,
// from 3.16, version_number.
//
// A [Version] selects release behaviour: [V3_6] (a skopeo timeout or any
// unknown key in a mirror POST is a 500), [V3_15] (skopeo timeout
// required; architecture_filter a 500), [V3_17] (architecture filter,
// organisation-level mirroring and its locks, which hold on mirror writes
// even with FEATURE_ORG_MIRROR off again, the 2026-08-05 hardening: SSRF
// checks honouring SSRF_ALLOWED_HOSTS, validate-then-apply PUT, 400 for
// bad POST dates) and [V3_18] (mirror health; not hardened). Other
// versions can be asked for: 3.14.7 refuses undeclared mirror POST keys
// (additionalProperties: false), 3.14.8 drops the skopeo timeout, 3.16.4
// and 3.16.5 drop the architecture filter, 3.17.0 to 3.17.3 create a
// mirror before refusing its architecture filter without
// FEATURE_SPARSE_INDEX, and the hardened 3.9.25, 3.10.25 and 3.12.21 check
// a POST's reference only inside enable_mirroring_for_repository (after
// the rule row and the robot grant, without DNS, 400 {"message"}).
// /api/v1/discovery is generated for the version and features from the
// same schemas the handlers validate with.
//
// Faults can be injected (see registry/emulation), deterministically from
// a seed: latency and jitter, 5xx rates, connection resets, 429 bursts
// with or without Retry-After, requests that take effect but whose answer
// is lost (a reset, or a proxy's 502 or 504, after Quay handled them), and
// on demand (Inject) truncated, invalid, oversize, empty and slow bodies.
// Requests counts requests per route template.
//
// Seed files ([ReadSeed], [Emulator.LoadSeed]) describe organisations,
// robots, repositories, mirrors, users and tokens; cmd/quay-emulator
// serves one.
//
// Not emulated: user namespaces (repositories live in organisations),
// teams and default permissions (an organisation role stands for the
// teams), repository deletion (501; a DELETE of a missing repository is
// Quay's no-op 204), DNS (hardened releases check hostnames without
// resolving them: names under .invalid do not resolve, every other name
// resolves to a public address), the mirror worker
// (fake.Registry.SyncMirrors plays it), and every endpoint a mirroring
// tool does not use (Werkzeug's 404).
package quaytest
