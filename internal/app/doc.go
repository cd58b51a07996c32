// Package app wires a resolved configuration to the engine: one Quay client
// per organisation and side over shared transports, one rate limiter per
// registry shared by every organisation, and runs over several
// organisations with the preflight-before-any-write rule. The CLI and the
// function both use it, so they behave alike.
package app
