// Package demo starts two emulated Quay registries on loopback, a source
// and a destination, seeded with organisations, repositories, a robot and
// tokens, and gives the environment that points quaymirror at them. The
// `quaymirror demo` command, the CLI's tests and the benchmarks use it: the
// real client talks real HTTP to them.
package demo
