// Package reliability holds quaymirror's end-to-end reliability and
// security tests: convergence under injected faults, clean give-up,
// crash consistency of the real binary killed at random moments,
// idempotence, no data loss, hostile servers, invalid configurations and
// secrets. docs/reliability.md lists each guarantee with the test that
// proves it.
//
// The tests run against two emulated Quays (registry/quay/quaytest over
// registry/fake) served on loopback by the test process itself, so that
// the emulated destination outlives the quaymirror processes the crash
// tests kill. The long variants (500 repositories, 20 and more kills) run
// only when QUAYMIRROR_SOAK=1 is set (make soak); make test runs shorter
// ones of the same code.
package reliability
