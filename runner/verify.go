package runner

import (
	"context"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// VerifyResult is the result of a Verify over several organisations. Its
// JSON is the report of `quaymirror verify -o json`.
type VerifyResult struct {
	// Outcome is the worst outcome of the organisations.
	Outcome Outcome `json:"outcome"`
	// Interrupted: the time budget ran out or the run was stopped before
	// every repository of every organisation was verified.
	Interrupted bool `json:"interrupted"`
	// PreflightFailed: an organisation failed its preflight.
	PreflightFailed bool              `json:"preflight_failed"`
	Organizations   []OrgVerification `json:"organizations"`
}

// OK reports whether every organisation was verified whole and found
// complete.
func (r *VerifyResult) OK() bool { return r.Outcome == OutcomeOK }

func (r *VerifyResult) add(o OrgVerification) {
	r.Organizations = append(r.Organizations, o)
	r.Outcome = worse(r.Outcome, o.Outcome)
	r.Interrupted = r.Interrupted || o.Interrupted
	r.PreflightFailed = r.PreflightFailed || o.Outcome == OutcomePreflightFailed
}

// OrgVerification is the verify of one organisation pair: the engine's
// Verification (its counts zero and its repositories empty when the
// organisation was not verified), the preflight checks and an
// organisation-level error.
type OrgVerification struct {
	*quaymirror.Verification
	// Outcome is OutcomeOK when the destination holds every selected
	// source tag beyond the grace, OutcomeIncomplete when tags are
	// missing or stale, OutcomeFailed when a repository or the
	// organisation could not be verified, OutcomePartial when the budget
	// or a stop cut the verification short, OutcomePreflightFailed when
	// the preflight failed.
	Outcome Outcome `json:"outcome"`
	// Preflight is the checklist; empty when the preflight did not run.
	Preflight quaymirror.Checklist `json:"preflight,omitempty"`
	// Error is set when the organisation could not be verified to its
	// end: its preflight failed, its backends or a listing failed, or the
	// run was stopped.
	Error string `json:"error,omitempty"`
}

func newOrgVerification(org Org) OrgVerification {
	return OrgVerification{Outcome: OutcomeOK, Verification: &quaymirror.Verification{
		Organization: org.Source, DestinationOrganization: org.DestinationOrg(),
		Repositories: []quaymirror.VerifiedRepository{},
	}}
}

// end records how the organisation's verify ended.
func (o *OrgVerification) end(e ending) {
	o.Outcome, o.Error = e.outcome, e.why
	o.Interrupted = o.Interrupted || e.outcome == OutcomePartial
}

// Verify compares, for each organisation pair one after the other, the
// destination's tags with the source's (quaymirror.Engine.Verify): what
// the standby lacks, what it holds at another digest, and since when. It
// only reads. Each pair runs its own read-only preflight
// (Engine.VerifyPreflight); one that fails it is reported with the fix
// and the others go on. It shares the rate limiters, the concurrency and
// the time budget of Sync; when the budget is spent or ctx ends, the
// repositories verified so far are reported and the result says it was
// interrupted.
//
// The error is non-nil only for invalid pairs and ErrClosed; every
// failure of a pair is in the result.
func (r *Runner) Verify(ctx context.Context, orgs []Org) (*VerifyResult, error) {
	res := &VerifyResult{Outcome: OutcomeOK, Organizations: make([]OrgVerification, 0, len(orgs))}
	err := runCommand(r, ctx, orgs, command[OrgVerification]{
		name: CommandVerify, budget: true,
		run: func(ctx context.Context, o Org) (OrgVerification, error) { return r.verifyOrg(ctx, o), nil },
		failed: func(o Org, err error) OrgVerification {
			ov := newOrgVerification(o)
			ov.end(failed(err))
			return ov
		},
		notStarted: func(o Org, why string) OrgVerification {
			ov := newOrgVerification(o)
			ov.end(interrupted(why))
			return ov
		},
		event: func(o Org, ov *OrgVerification) Event {
			return Event{Kind: EventVerified, Organization: o.Source, Verification: ov}
		},
		add: res.add,
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// verifyOrg verifies one pair: preflight, then the comparison.
func (r *Runner) verifyOrg(ctx context.Context, org Org) OrgVerification {
	res := newOrgVerification(org)
	log := r.logger.With("organization", org.Source)
	start := r.clock.Now()
	// verify reads every repository: one slice
	e, checks, stop := r.prepare(ctx, log, org, quaymirror.Checks{Slices: 1}, (*quaymirror.Engine).VerifyPreflight)
	res.Preflight = checks
	if stop != nil {
		res.end(*stop)
		return res
	}
	v, err := e.Verify(ctx)
	if err != nil {
		log.Error("organization failed", "error", err)
		res.end(failed(err))
		return res
	}
	res.Verification = v
	switch {
	case v.Errors > 0:
		res.Outcome = OutcomeFailed
	case v.Interrupted:
		res.Outcome, res.Error = OutcomePartial, "stopped before every repository was verified: "+stopReason(ctx)
	case v.Missing+v.Stale > 0:
		res.Outcome = OutcomeIncomplete
	}
	log.Info("organization verified", "repositories", v.RepositoriesChecked, "tags", v.TagsChecked, "missing", v.Missing,
		"stale", v.Stale, "pending", v.Pending, "recovery_point_seconds", v.RecoveryPointSeconds, "errors", v.Errors,
		"interrupted", v.Interrupted, "duration", r.clock.Now().Sub(start).String())
	return res
}
