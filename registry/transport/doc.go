// Package transport is what every HTTP backend of quaymirror
// (registry/quay, registry/harbor, registry/oci) shares: its options, the
// building of its client, the sending and reading of its requests, and
// its error. A backend keeps only what is its server's own: its paths,
// its error bodies, its authentication challenges, its advice.
//
//   - Options: credentials, TLS, retry policy, timeout, size cap, logger,
//     User-Agent, base transport, with their defaults (DefaultOptions)
//     and the Option constructors that check them. A backend's options
//     hold them beside its own, and its With… options call these.
//   - New: checks the options, parses the base URL (plain http only to
//     loopback unless allowed) and builds the stack below; a Backend
//     names the backend in errors and logs and says what it adds.
//   - Client.Do: one request through the stack, its answer read with a
//     cap into a Reply, whose methods make the backend's errors (Error,
//     Bad, Decode) and follow its Link header (NextQuery).
//   - Error: method, cleaned URL, status, the server's code and message,
//     attempts; it unwraps to the quaymirror sentinel of StatusKind (or
//     RegistryKind, for the distribution specification's error codes,
//     which DescribeErrors reads) or the backend's own reading.
//
// The stack is made of http.RoundTrippers, each tested on its own, in the
// manner of go-containerregistry's transports. Outermost first:
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
