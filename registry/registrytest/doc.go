// Package registrytest is the conformance suite every quaymirror backend
// must pass.
//
// Run checks, one subtest per rule, every contract written in the doc
// comments of quaymirror's capability interfaces: paged listings that are
// stable, complete and duplicate-free; repositories read with their tags,
// nested names included; repository creation and state changes with their
// sentinel errors; mirror creation (state MIRROR, status NEVER_RUN, three
// retries, start dates in whole seconds, the robot granted write) and
// field-by-field updates; sync-now and cancel with Quay's refusals; and the
// optional capabilities (CurrentUser, GetOrganization, GetRobot,
// CreateRobot, SetPermission, Capabilities, OrganizationMirrored, SyncLogs)
// when the backend has them, found by type assertion. Expectations that
// depend on the server's version (skopeo timeout, architecture filter)
// follow the capabilities reported.
//
// A Harness returns the backend under test and the *fake.Registry holding
// its state: the suite seeds situations through the registry and checks
// effects there, so it sees what was written, not only what the backend
// reads back. For registry/fake the two are the same object; for the Quay
// client the backend talks HTTP to registry/quay/quaytest's emulator, which
// serves the registry.
//
// Like testing/fstest.TestFS, the suite reports every misbehaviour it finds
// rather than stopping at the first.
package registrytest
