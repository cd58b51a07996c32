// Package cli is the quaymirror command line: one Run function that takes
// the arguments, the environment and the output streams, and returns the
// exit code. cmd/quaymirror only wires signals to it.
package cli
