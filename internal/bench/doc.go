// Package bench measures quaymirror against two emulated Quay registries:
// the real engine and the real Quay client, wired as the CLI wires them
// (internal/wiring), talk HTTP on loopback to a source and a destination
// emulator (registry/quay/quaytest over registry/fake) that delay every
// request by an injected latency.
//
// A Scenario fixes the number of repositories, the concurrency and the
// request rate. Measure runs it twice: a first run, where every
// repository is new at the destination, then a steady-state run, where
// nothing changed. For each run it records the wall time, the requests
// the emulators received by side and route, the TCP connections they
// accepted, and the peak heap of this process, and it computes the lower
// bound of the run's wall time (see Run.Bound).
//
// `quaymirror-bench` runs the emulators in a child process (Subprocess),
// so that the heap measured is quaymirror's alone: two fake registries
// holding 20,000 repositories each would otherwise dominate it. InProcess,
// the default of Options, keeps them in this process for quick checks and
// tests.
//
// `quaymirror-bench` prints the results with WriteText; docs/performance.md
// explains the method and the figures.
package bench
