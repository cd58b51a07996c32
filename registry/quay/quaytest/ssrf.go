package quaytest

import (
	"errors"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/registry/fake"
)

// ssrfGeneric is what hardened releases answer for a blocked registry.
const ssrfGeneric = "The provided registry location is not allowed"

// referenceProblem is validate_external_registry_reference of the
// hardened releases (util/security/ssrf.py, held by the registry's
// source policy with SSRF_ALLOWED_HOSTS): the detail, or "", and whether
// the host is blocked. With resolve the reference is checked as the API
// does, with DNS; without, as inside enable_mirroring_for_repository.
func (e *Emulator) referenceProblem(ref string, resolve bool) (msg string, blocked bool) {
	var refused *fake.Error
	if err := e.reg.CheckReference(ref, resolve); errors.As(err, &refused) {
		return refused.Message, errors.Is(err, quaymirror.ErrSourceNotAllowed)
	}
	return "", false
}

// apiReferenceProblem is the API's _validate_external_reference: a
// blocked registry is answered with the generic "The provided registry
// location is not allowed" (which leaks nothing of the network), any
// other problem with its own detail.
func (e *Emulator) apiReferenceProblem(ref string) string {
	msg, blocked := e.referenceProblem(ref, true)
	if blocked {
		return ssrfGeneric
	}
	return msg
}
