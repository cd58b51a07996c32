// Package runner runs quaymirror over several organisation pairs: the one
// runner behind the CLI, the Knative function and any program that embeds
// quaymirror.
//
// A [Runner] owns what is shared by the organisations of a run: one rate
// limiter per registry side (every organisation's engine waits on the
// same two), the time budget of a run, the logger, the clock, and the
// rule that one organisation is synced by at most one run at a time
// (concurrent runs of it join). It knows nothing of Quay, HTTP or the
// environment: the caller supplies [Backends], a factory that returns the
// source and the destination of an organisation pair.
//
//	r, err := runner.New(backends, runner.WithRate(25, 25), runner.WithBudget(10*time.Minute))
//	res, err := r.Sync(ctx, []runner.Org{{Source: "acme", Policy: policy}})
//	switch res.Outcome { ... }
//
// Each organisation is isolated from the others: it runs its own
// preflight, and one that fails it (an expired token, a missing robot,
// mirroring disabled) is reported with the fix while every organisation
// that passes its own preflight is synced. A failure of any kind in one
// organisation never stops the next.
//
// The [Result] of a run carries, per organisation, the engine's
// quaymirror.Report, the preflight checklist and an organisation-level
// error, and one [Outcome] for the whole run that entry points turn into
// an exit code or an HTTP status: [OutcomePreflightFailed] when any
// organisation failed its preflight, else [OutcomeFailed] when any
// repository or organisation failed, else [OutcomePartial] when the budget
// or a stop left repositories not started, else [OutcomeOK].
//
// Each run is a tick: the clock's time over the tick period
// ([WithTickPeriod]). It reads the slice of the existing mirrors that the
// tick picks (quaymirror.Checks; K from [WithFullCheckEvery] or automatic,
// [WithFullCheck] for every mirror, [WithTick] for another tick), so that
// a large organisation's run fits its time: over K ticks every mirror is
// read once. Once an organisation's listings are complete and before its
// slice is read, the runner estimates what the run still needs from the
// listing, the rate limit and the round trip it measured ([Estimate]); with
// a time budget it narrows the slice to what fits in the time left.
//
// [Runner.Verify] runs over the same pairs, with the same limiters, budget
// and isolation, the read-only comparison of each destination's tags with
// its source's ([quaymirror.Engine.Verify]); its [VerifyResult] has an
// Outcome too, [OutcomeIncomplete] when tags are missing or stale.
//
// The package imports only the core package quaymirror; it lives apart
// from it because it is about running several engines, not about
// reconciling one organisation.
package runner
