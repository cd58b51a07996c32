// Package layout has no code: its test holds the module's import rules
// (layers, what public packages may import, what the quaymirror binary
// links), read from `go list`, so that a change breaking one fails
// `make test`.
package layout
