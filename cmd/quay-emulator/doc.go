// Command quay-emulator serves the Quay API emulator of
// registry/quay/quaytest on a local port, so quaymirror (or any Quay API
// client) can be tried against a Quay of a chosen version without one.
//
//	quay-emulator -version 3.17 -seed seed.json
//	quay-emulator -admin-token s3cret -error-rate 0.05 -latency 50ms
//
// It prints the base URL on the first line of standard output (the port
// is chosen by the system unless -listen says otherwise) and serves until
// interrupted. -seed loads organisations, robots, repositories, mirrors,
// users and tokens from a JSON seed file (see quaytest.Seed and
// registry/quay/quaytest/testdata/seed.json); -admin-token adds an
// administrator of every organisation for quick trials. Fault flags inject
// latency, 5xx answers, connection resets and 429 bursts, deterministically
// from -fault-seed.
//
// Exit status: 0 after an interrupt, 1 when the emulator cannot start
// (unreadable seed, port taken), 2 for a usage error.
package main
