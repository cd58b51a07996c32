// Command quaymirror-bench measures quaymirror against two emulated Quay
// registries (internal/bench; `make bench`, docs/performance.md). It is a
// command of its own so that the quaymirror binary does not link the
// benchmark harness and its emulators.
package main
