// Package emulation holds what the HTTP emulators of registries share,
// whatever registry they emulate: a Front that counts requests by route
// and injects faults, deterministically from a seed (latency and jitter,
// 5xx rates, connection resets, 429 bursts with or without Retry-After,
// requests that take effect but whose answer is lost, truncated, invalid,
// oversize, empty and slow bodies), and the error pages of the proxy in
// front of them.
//
// An emulator resolves a request to its route template, then lets the
// Front serve it:
//
//	front.Serve(w, r, "/api/v1/repository/{repo}", func(w http.ResponseWriter) { handle(w, r) })
//
// The Quay emulator (registry/quay/quaytest) is built on it; so can be
// emulators of other registries, so that the clients of every backend are
// tested against the same faults.
package emulation
