// Package quaymirror mirrors whole Quay organisations.
//
// Quay configures repository mirroring one repository at a time. This package
// reconciles a destination organisation against a source one: every
// repository of the source organisation gets a repository of the same name at
// the destination, put in mirror mode with a mirror configuration that pulls
// from the source (external reference, pull credentials, robot, tag globs,
// sync interval). Repositories that are already correct are left alone.
//
// The package holds three things:
//
//   - the nouns: [Repository], [MirrorConfig], [MirrorStatus], [State] and
//     friends, shaped after Quay's v1 REST API;
//   - the capability interfaces a backend implements, composed into [Source]
//     and [Destination], with the sentinel errors ([ErrNotFound],
//     [ErrAlreadyExists], ...) their contracts promise;
//   - the [Engine]: [Engine.Plan] reads both sides and decides one
//     [Action] per repository, [Engine.Apply] carries a plan out and
//     returns a [Report], and [Engine.Sync] does both in one pass, writing
//     each repository as soon as its decision is known. A dry run is Plan
//     alone. [WithChecks] spreads the reads of existing mirrors over ticks
//     ([Checks], [Slice], [SliceOf], [TickAt]): a run reads one slice of
//     them, and over K ticks every one, with nothing stored between runs.
//
// Backends live elsewhere: registry/quay talks to a Quay server over HTTP,
// registry/fake keeps a Quay-like registry in memory. Both pass the
// conformance suite in registry/registrytest.
//
// The engine owns pacing (one rate limiter per side) and concurrency (a
// bounded worker pool); backends own what their server signals (retries,
// Retry-After). The package has no global state, reads no environment and
// logs only through an injected hclog.Logger.
package quaymirror
