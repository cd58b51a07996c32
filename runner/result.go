package runner

import (
	"time"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// Outcome summarises the run of one organisation or of a whole Sync or
// Plan. Entry points map it to an exit code or an HTTP status.
type Outcome string

// Outcomes, from the best to the worst.
const (
	// OutcomeOK: converged (or planned) with no failure.
	OutcomeOK Outcome = "ok"
	// OutcomePartial: the time budget or a stop left repositories or
	// organisations not started; nothing failed. The next run goes on.
	OutcomePartial Outcome = "partial"
	// OutcomeIncomplete: a Verify found tags missing or stale at the
	// destination beyond the grace; the run itself went well.
	OutcomeIncomplete Outcome = "incomplete"
	// OutcomeFailed: a repository failed, or an organisation could not be
	// run (its backends, its listing, an organisation-level stop).
	OutcomeFailed Outcome = "failed"
	// OutcomePreflightFailed: an organisation failed its preflight, so
	// nothing was written to it; the others ran.
	OutcomePreflightFailed Outcome = "preflight_failed"
)

var severity = map[Outcome]int{OutcomeOK: 0, OutcomePartial: 1, OutcomeIncomplete: 2, OutcomeFailed: 3, OutcomePreflightFailed: 4}

// worse returns the worse of a and b.
func worse(a, b Outcome) Outcome {
	if severity[b] > severity[a] {
		return b
	}
	return a
}

// Result is the result of a Sync or a Plan over several organisations. Its
// JSON is the report of `quaymirror sync -o json` and of the function's
// reply.
type Result struct {
	DryRun bool `json:"dry_run"`
	// Outcome is the worst outcome of the organisations.
	Outcome Outcome `json:"outcome"`
	// Interrupted: the time budget ran out or the run was stopped before
	// every repository of every organisation was started.
	Interrupted bool `json:"interrupted"`
	// PreflightFailed: an organisation failed its preflight.
	PreflightFailed bool        `json:"preflight_failed"`
	Organizations   []OrgResult `json:"organizations"`
}

// OK reports whether every organisation converged (or was planned)
// without failure or interruption.
func (r *Result) OK() bool { return r.Outcome == OutcomeOK }

func (r *Result) add(o OrgResult) {
	r.Organizations = append(r.Organizations, o)
	r.Outcome = worse(r.Outcome, o.Outcome)
	r.Interrupted = r.Interrupted || o.Interrupted
	r.PreflightFailed = r.PreflightFailed || o.Outcome == OutcomePreflightFailed
}

// OrgResult is the run of one organisation pair: the engine's report
// (counts and one result per repository; empty when the organisation was
// not run), the preflight checks, and an organisation-level error.
type OrgResult struct {
	*quaymirror.Report
	Outcome Outcome `json:"outcome"`
	// Preflight is the checklist; empty when the preflight did not run.
	Preflight quaymirror.Checklist `json:"preflight,omitempty"`
	// Error is set when the organisation could not be run to its end:
	// its preflight failed, its backends or its listing failed, or the
	// run was stopped before it started.
	Error string `json:"error,omitempty"`
	// Estimate is the forecast made once the listings were complete, and
	// whether it narrowed the slice; absent when the run did not get
	// that far.
	Estimate *Estimate `json:"estimate,omitempty"`
}

// newOrgResult returns the result of org with an empty report.
func newOrgResult(org Org, dryRun bool) OrgResult {
	return OrgResult{Outcome: OutcomeOK, Report: &quaymirror.Report{
		Organization: org.Source, DestinationOrganization: org.DestinationOrg(), DryRun: dryRun,
		Repositories: []quaymirror.Result{},
	}}
}

// An ending is how the run of an organisation ended before its engine
// could report: the outcome and the error that says why.
type ending struct {
	outcome Outcome
	why     string
}

// failed: the organisation failed with err.
func failed(err error) ending { return ending{OutcomeFailed, err.Error()} }

// interrupted: the budget or a stop ended the organisation's run before
// it could finish; why says so.
func interrupted(why string) ending { return ending{OutcomePartial, why} }

// end records how the organisation's run ended.
func (o *OrgResult) end(e ending) {
	o.Outcome, o.Error = e.outcome, e.why
	o.Interrupted = o.Interrupted || e.outcome == OutcomePartial
}

// classify sets the outcome from the report of a finished organisation.
func (o *OrgResult) classify() {
	rep := o.Report
	switch {
	case rep.Failed > 0, !rep.OK() && !rep.Interrupted:
		// The second case: whatever left the report not OK without an
		// interruption (an organisation-level stop) is a failure.
		o.Outcome = OutcomeFailed
	case rep.Interrupted:
		o.Outcome = OutcomePartial
	default:
		o.Outcome = OutcomeOK
	}
}

// CheckResult is the preflight of several organisations.
type CheckResult struct {
	// OK: no check of any organisation failed.
	OK            bool       `json:"ok"`
	Organizations []OrgCheck `json:"organizations"`
}

// OrgCheck is the preflight of one organisation pair.
type OrgCheck struct {
	Organization            string               `json:"organization"`
	DestinationOrganization string               `json:"destination_organization"`
	Checks                  quaymirror.Checklist `json:"checks"`
	// Error is set when the checks could not run (the backends failed).
	Error string `json:"error,omitempty"`
}

// OK reports whether the checks ran and none failed.
func (c OrgCheck) OK() bool { return c.Error == "" && c.Checks.OK() }

// EventKind says what an Event is about.
type EventKind string

// Event kinds.
const (
	// EventJoined: a Sync or Plan found the organisation being run by
	// another call and waits for that run's result instead of starting
	// one.
	EventJoined EventKind = "joined"
	// EventSynced: an organisation's sync or plan ended; Result is set.
	EventSynced EventKind = "synced"
	// EventChecked: an organisation's preflight ended; Check is set.
	EventChecked EventKind = "checked"
	// EventStatus: an organisation's status was read; Health or Err is
	// set.
	EventStatus EventKind = "status"
	// EventVerified: an organisation's verify ended; Verification is
	// set.
	EventVerified EventKind = "verified"
)

// Event is something a run did, for observers (metrics, tests).
type Event struct {
	Kind EventKind
	// Command is the runner method the event belongs to.
	Command Command
	// Org is the organisation pair the event is about.
	Org Org
	// Time is the runner's clock when the event happened: for
	// EventSynced, EventChecked, EventStatus and EventVerified, the end
	// of the organisation's run.
	Time time.Time
	// Organization is the source organisation (the destination one for
	// EventStatus).
	Organization string
	Result       *OrgResult
	Check        *OrgCheck
	Health       *quaymirror.Health
	Verification *OrgVerification
	Err          error
}
