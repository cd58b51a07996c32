// Package registrytest is the conformance suite every quaymirror backend
// must pass, in the way go-cloud's drivertest serves its drivers.
//
// Run checks a destination, one subtest per rule, every contract written
// in the doc comments of quaymirror's capability interfaces: paged
// listings that are stable, complete and duplicate-free; repositories read
// with their tags, nested names included; repository creation and state
// changes with their sentinel errors; mirror creation (state MIRROR,
// status NEVER_RUN, three retries, start dates in whole seconds, the robot
// granted write) and field-by-field updates; sync-now and cancel with
// Quay's refusals; complete tag listings with digests and change times;
// and the optional capabilities (CurrentUser, GetOrganization, GetRobot,
// CreateRobot, SetPermission, Capabilities, OrganizationMirrored,
// SyncLogs, ListTags) when the backend has them, found by type assertion.
// Expectations that depend on the server's version (skopeo timeout,
// architecture filter) follow the capabilities reported.
//
// RunSource checks what a source must do, which is only to list:
// repositories page by page, and their tags when it implements
// quaymirror.TagLister. A source whose listings carry no repository state
// or visibility (an OCI catalog) says so with SourceOptions.Stateless; a
// store whose registry names manifests by their content (an OCI registry,
// where a tag cannot point at a digest of the suite's choosing) implements
// ImageStore, and the suite expects the digests of the images it pushed.
//
// A harness returns the backend under test and a store that seeds its
// registry and reads its state back without going through the backend:
// the suite sees what was written, not only what the backend reads back.
// The store is a small interface (Store for destinations, SourceStore for
// sources) that registry/fake implements; a backend whose server the fake
// does not model needs an adapter (an emulator's model, a registry's own
// admin API). For registry/fake the backend and the store are the same
// object; for the Quay client the backend talks HTTP to
// registry/quay/quaytest's emulator, whose model is the store.
//
// Like testing/fstest.TestFS, the suite reports every misbehaviour it finds
// rather than stopping at the first.
package registrytest
