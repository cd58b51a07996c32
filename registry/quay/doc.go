// Package quay is the Red Hat Quay backend of quaymirror: a [Client] that
// implements quaymirror.Destination (hence Source) and every optional
// capability of the core package over Quay's v1 REST API (/api/v1).
//
// One Client talks to one registry with one OAuth bearer token. A Quay
// OAuth token acts for the user who generated it, in every organisation
// that user can reach, whatever organisation's application it was
// generated in; its scopes cap what it may do there. A run over several
// organisations may use one token for all of them or one per organisation
// (one Client per token); Clients may share a base transport (and so a
// connection pool) through [WithTransport] and [NewTransport]:
//
//	base, err := quay.NewTransport(quay.TransportOptions{CABundle: pem})
//	...
//	acme, err := quay.New("https://quay.example.com",
//		quay.WithTransport(base), quay.WithToken(acmeToken))
//
// New does no I/O; every method takes a context first.
//
// # Transport
//
// Requests go through the stack of registry/transport, every layer of
// which is tested on its own (outermost first):
//
//   - retries: connection failures (refused, reset, EOF, attempt timeout)
//     and 429, 502, 503 and 504 answers are retried with capped exponential
//     backoff and full jitter, honouring Retry-After (seconds or HTTP date,
//     capped); 400, 401, 403, 404, 409 and 500 never are, nor is Quay's
//     read-only refusal (a 503 with "is_readonly": true), which retrying
//     does not clear. Request bodies are replayed through Request.GetBody.
//     See [WithRetry] and [WithTimeout]; [WithRetrySleep] and
//     [ContextWithRetrySleep] replace the waiting.
//   - logging: one Debug line per attempt (method, cleaned URL, status,
//     duration, attempt) on the injected hclog.Logger; never headers or
//     bodies.
//   - bearer token: added only to requests for the registry's own origin,
//     so a redirect to another host never carries it.
//   - User-Agent: "quaymirror/" and quaymirror.Version(), the version of
//     the quaymirror module linked (not the embedding program's), after
//     the product tokens of [WithUserAgent].
//   - size cap: response bodies beyond [WithMaxBodySize] are not read.
//   - the base transport ([NewTransport], transport.NewBase): TLS
//     verification on, optional extra CA bundle, proxy from the
//     environment (http.ProxyFromEnvironment). Every attempt goes down to
//     it, so a counting base transport given with [WithTransport] (the
//     metrics package's) sees each one.
//
// Plain http is refused by New unless the host is loopback (127.0.0.0/8,
// ::1, localhost) or [WithAllowInsecureHTTP] is given.
//
// # Errors
//
// Every failure answered by the server, or a transport failure after the
// retries, is an [*Error] carrying the method, a cleaned URL (no
// credentials, no query values), the status and Quay's message, parsed
// leniently from the body shapes Quay uses. Error unwraps to the matching
// sentinel of the quaymirror package, so callers test with errors.Is.
// Neither the token nor a password sent in the request ever appears in an
// error or a log line: request bodies are never embedded, and the server's
// message is scrubbed of both.
//
// Response bodies are read with a size cap ([WithMaxBodySize]); a body that
// is too large, not JSON, truncated or empty where JSON is expected yields
// an error wrapping quaymirror.ErrBadResponse.
//
// # Quay quirks handled here
//
//   - A bad token lists repositories as an empty page instead of failing:
//     check it first with [Client.CurrentUser].
//   - A missing robot is a 400 "Could not find robot...", reported as
//     ErrNotFound by [Client.GetRobot].
//   - Writes that "return nothing" answer the JSON string "" (200/201) or
//     204 without a body; the mirror PUT answers 201.
//   - The shape of mirror bodies follows the server's /api/v1/discovery,
//     read once per Client: skopeo_timeout_interval (Quay 3.15+),
//     architecture_filter (3.17+) and
//     external_registry_config.unsigned_images are sent only when the
//     server declares them, and a non-zero value the server cannot take is
//     refused with ErrUnsupported before any write. When the document
//     cannot be read no mirror is written (ErrUnavailable): no body shape
//     is accepted by every version.
//   - Discovery cannot show feature flags; the anonymous GET /config at the
//     server root (Quay 3.8+) can: [Client.Capabilities] reads
//     FEATURE_SPARSE_INDEX (a non-empty architecture filter is refused
//     without it), read-only mode and, from 3.16, the version there, and
//     a mirror write carrying an architecture filter is refused with
//     ErrUnsupported before it reaches a server whose sparse index is off.
//   - Dates are sent as YYYY-MM-DDTHH:MM:SSZ and read back with or without
//     microseconds, or null.
//   - Quay drops the first proxy key of a mirror PUT when the stored
//     configuration has no proxy object yet; [Client.UpdateMirror] follows
//     a PUT carrying the proxy with a second, proxy-only PUT so that the
//     result converges whatever was stored.
//   - A mirror POST that fails after Quay stored its tag rule leaves an
//     orphan rule row that a later root_rule PUT may update instead of the
//     mirror's own (201, and GET unchanged): [Client.UpdateMirror] reads
//     the tag globs back after such a PUT and reports a mismatch as
//     quaymirror.ErrNotApplied.
//   - A create retried after a failure in flight that then answers
//     "already exists" is verified by reading the object back and reported
//     as the success it was.
package quay
