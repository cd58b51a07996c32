// Package transport is the HTTP stack every HTTP backend of quaymirror
// uses (registry/quay today, Harbor and OCI registries next): stacked
// http.RoundTrippers, each tested on its own, in the manner of
// go-containerregistry's transports. Outermost first, a backend stacks:
//
//   - Retry: connection failures (refused, reset, EOF, the attempt's own
//     timeout) and 429, 502, 503 and 504 answers are retried with capped
//     exponential backoff and full jitter, honouring Retry-After (seconds
//     or HTTP date, capped); other answers never are. Each attempt has its
//     own timeout, request bodies are replayed through Request.GetBody, a
//     Sleep (from the Retry, or from the request's context:
//     ContextWithSleep) replaces the waiting, and Permanent lets a backend
//     name answers that look retryable but do not clear (Quay's read-only
//     mode). Every attempt goes down the whole stack to the base
//     transport, so a counting base sees each one.
//   - Log: one Debug line per attempt (method, cleaned URL, status,
//     duration, attempt) on the injected hclog.Logger; never headers or
//     bodies, and the secrets redacted from errors.
//   - Credentials: an Authorization header (Bearer or Basic) added only to
//     requests for the registry's own origin, so a redirect to another
//     host never carries it.
//   - UserAgent: quaymirror's product token and version (the version of
//     the quaymirror module linked, not the embedding program's), after
//     the caller's own tokens.
//   - Limit: response bodies capped, a larger one failing with
//     ErrTooLarge without being read to its end.
//   - the base transport (NewBase): TLS 1.2+ with verification on, an
//     optional extra CA bundle, the proxy from the environment, room for
//     256 idle connections per registry.
//
// A Record in the request's context (WithRecord) is where the stack notes
// how many attempts a request took, whether a retried attempt may have
// reached the server (a create that then answers "already exists" may be
// its own earlier success), and the request's secrets, which every layer
// redacts from what it logs. Scrub and CleanURL keep secrets and query
// values out of error messages; CheckRedirect and CheckScheme keep
// credentials off plain http and off other hosts.
package transport
