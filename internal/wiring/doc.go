// Package wiring turns a resolved configuration into the runner the CLI
// and the function run: one Quay client per organisation and side (each
// with its organisation's token) over one shared transport per registry,
// the configured pacing, time budget and logger. It is the entry points'
// side of the runner's Backends factory, so that the public runner knows
// nothing of Quay or of the environment.
package wiring
