package metrics

import (
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/quaymirror/quaymirror/quaymirror"
	"github.com/quaymirror/quaymirror/runner"
)

// Metric names.
const (
	LastRun        = "quaymirror_last_run_timestamp_seconds"
	LastSuccess    = "quaymirror_last_success_timestamp_seconds"
	LastRunSuccess = "quaymirror_last_run_success"
	Repositories   = "quaymirror_repositories"
	Mirrors        = "quaymirror_mirrors"
	MirrorProblems = "quaymirror_mirror_problems"
	MissingTags    = "quaymirror_missing_tags"
	StaleTags      = "quaymirror_stale_tags"
	RecoveryPoint  = "quaymirror_recovery_point_seconds"
	APIRequests    = "quaymirror_api_requests_total"
)

// owner is the command whose runs set a metric without a command label.
var owner = map[string]runner.Command{
	Repositories:   runner.CommandSync,
	Mirrors:        runner.CommandStatus,
	MirrorProblems: runner.CommandStatus,
	MissingTags:    runner.CommandVerify,
	StaleTags:      runner.CommandVerify,
	RecoveryPoint:  runner.CommandVerify,
}

// outcomes are the repository outcomes, each reported even when zero.
var outcomes = []quaymirror.Outcome{
	quaymirror.OutcomeCreated, quaymirror.OutcomeConfigured, quaymirror.OutcomeUpdated,
	quaymirror.OutcomeUnchanged, quaymirror.OutcomeSkipped, quaymirror.OutcomeOrphaned,
	quaymirror.OutcomeFailed, quaymirror.OutcomeNotStarted, quaymirror.OutcomeUnchecked,
}

// statuses are Quay's sync statuses, each reported even when zero.
var statuses = []quaymirror.SyncStatus{
	quaymirror.SyncNeverRun, quaymirror.SyncNow, quaymirror.SyncSyncing,
	quaymirror.SyncSuccess, quaymirror.SyncFail, quaymirror.SyncCancel,
}

// statusUnknown stands for every sync status not in statuses.
const statusUnknown quaymirror.SyncStatus = "UNKNOWN"

// Recorder holds quaymirror's metrics (see the package documentation)
// and records runs into them. It is a prometheus.Collector, to register
// where it is scraped, and a prometheus.Gatherer of its own metrics. Its
// methods are safe for concurrent use; the zero value is not usable.
type Recorder struct {
	// mu makes each recorded run one change for Collect: a scrape sees
	// an organisation's series before or after it, never half of it.
	mu sync.RWMutex

	lastRun, lastSuccess, lastRunSuccess *prometheus.GaugeVec
	repositories, mirrors, problems      *prometheus.GaugeVec
	missingTags, staleTags, recovery     *prometheus.GaugeVec
	apiRequests                          *prometheus.CounterVec

	reg *prometheus.Registry // the Recorder alone, for Gather and pushes
}

var _ prometheus.Collector = (*Recorder)(nil)
var _ prometheus.Gatherer = (*Recorder)(nil)

// NewRecorder returns a Recorder with no series yet.
func NewRecorder() *Recorder {
	gauge := func(name, help string, labels ...string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
	}
	r := &Recorder{
		lastRun: gauge(LastRun, "When the last run of the command over the organization ended (Unix seconds).",
			"organization", "command"),
		lastSuccess: gauge(LastSuccess, "When the last successful run of the command over the organization ended (Unix seconds).",
			"organization", "command"),
		lastRunSuccess: gauge(LastRunSuccess, "1 when the last run of the command over the organization succeeded, else 0.",
			"organization", "command"),
		repositories: gauge(Repositories, "Repositories by outcome in the last sync that listed the organization.",
			"organization", "outcome"),
		mirrors: gauge(Mirrors, "Destination mirrors by Quay's sync status, from the last status.",
			"organization", "status"),
		problems: gauge(MirrorProblems, "Mirrors failing, stuck, never run, disabled or unreadable, and source repositories missing or not mirrored at the destination, from the last status.",
			"organization", "problem"),
		missingTags: gauge(MissingTags, "Source tags missing at the destination beyond the grace, from the last verify.",
			"organization"),
		staleTags: gauge(StaleTags, "Tags whose destination digest differs from the source's beyond the grace, from the last verify.",
			"organization"),
		recovery: gauge(RecoveryPoint, "Age of the oldest source change missing or stale at the destination beyond the grace, from the last verify (0: complete).",
			"organization"),
		apiRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: APIRequests,
			Help: "HTTP requests sent to the registries, every retry attempt counted; code is the status code, or error when no answer came."},
			[]string{"organization", "command", "registry", "method", "code"}),
	}
	r.reg = prometheus.NewPedanticRegistry()
	r.reg.MustRegister(r)
	return r
}

func (r *Recorder) collectors() []prometheus.Collector {
	return []prometheus.Collector{r.lastRun, r.lastSuccess, r.lastRunSuccess, r.repositories, r.mirrors,
		r.problems, r.missingTags, r.staleTags, r.recovery, r.apiRequests}
}

// Describe implements prometheus.Collector.
func (r *Recorder) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range r.collectors() {
		c.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (r *Recorder) Collect(ch chan<- prometheus.Metric) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, c := range r.collectors() {
		c.Collect(ch)
	}
}

// Gather implements prometheus.Gatherer: the Recorder's metrics alone.
func (r *Recorder) Gather() ([]*dto.MetricFamily, error) { return r.reg.Gather() }

// Observe records e: pass it to runner.WithObserver. The end of every
// organisation's sync, plan, check, status or verify sets its last-run
// series, and its other series from what the run found; other events are
// ignored. A verify sets the tag and recovery-point series only when it
// compared every repository it could read: one stopped by its preflight,
// an organisation-level error or the time budget leaves the previous
// values, which a partial count would understate.
func (r *Recorder) Observe(e runner.Event) {
	org, cmd, ended := runOf(e)
	if !ended {
		return
	}
	var ok bool
	var set func()
	switch e.Kind {
	case runner.EventSynced:
		ok = e.Result.Outcome == runner.OutcomeOK
		if rep := e.Result.Report; rep != nil && cmd == runner.CommandSync && e.Result.Error == "" {
			set = func() { r.setRepositories(org, rep) }
		}
	case runner.EventChecked:
		ok = e.Check != nil && e.Check.OK()
	case runner.EventStatus:
		ok = e.Err == nil && e.Health != nil && e.Health.Healthy()
		if h := e.Health; h != nil {
			set = func() { r.setHealth(org, h) }
		}
	case runner.EventVerified:
		ov := e.Verification
		ok = ov != nil && ov.Outcome == runner.OutcomeOK
		if ov != nil && ov.Verification != nil && ov.Error == "" && !ov.Interrupted {
			v := ov.Verification
			set = func() { r.setVerification(org, v) }
		}
	}
	at := e.Time
	if at.IsZero() {
		at = time.Now()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.setRun(org, cmd, at, ok)
	if set != nil {
		set()
	}
}

// runOf returns the organisation (by its source) and the command of the
// run that e ends; ended is false for an event that ends none (a join, a
// sync without its result). An event without its Command (one a test
// builds) gets the command of its kind.
func runOf(e runner.Event) (org string, cmd runner.Command, ended bool) {
	org, cmd = e.Org.Source, e.Command
	if org == "" {
		org = e.Organization
	}
	var kind runner.Command
	switch e.Kind {
	case runner.EventSynced:
		if e.Result == nil {
			return org, cmd, false
		}
		kind = runner.CommandSync
		if e.Result.Report != nil && e.Result.DryRun {
			kind = runner.CommandPlan
		}
	case runner.EventChecked:
		kind = runner.CommandCheck
	case runner.EventStatus:
		kind = runner.CommandStatus
	case runner.EventVerified:
		kind = runner.CommandVerify
	default:
		return org, cmd, false
	}
	if cmd == "" {
		cmd = kind
	}
	return org, cmd, true
}

// setRun records the end of a run; r.mu is held.
func (r *Recorder) setRun(org string, cmd runner.Command, at time.Time, ok bool) {
	ts := float64(at.UnixNano()) / 1e9
	r.lastRun.WithLabelValues(org, string(cmd)).Set(ts)
	success := 0.0
	if ok {
		success = 1
		r.lastSuccess.WithLabelValues(org, string(cmd)).Set(ts)
	}
	r.lastRunSuccess.WithLabelValues(org, string(cmd)).Set(success)
}

// setRepositories records a sync's report; r.mu is held.
func (r *Recorder) setRepositories(org string, rep *quaymirror.Report) {
	c := rep.Counts
	n := map[quaymirror.Outcome]int{
		quaymirror.OutcomeCreated: c.Created, quaymirror.OutcomeConfigured: c.Configured,
		quaymirror.OutcomeUpdated: c.Updated, quaymirror.OutcomeUnchanged: c.Unchanged,
		quaymirror.OutcomeSkipped: c.Skipped, quaymirror.OutcomeOrphaned: c.Orphaned,
		quaymirror.OutcomeFailed: c.Failed, quaymirror.OutcomeNotStarted: c.NotStarted, quaymirror.OutcomeUnchecked: c.Unchecked,
	}
	for _, o := range outcomes {
		r.repositories.WithLabelValues(org, string(o)).Set(float64(n[o]))
	}
}

// setHealth records a status; r.mu is held.
func (r *Recorder) setHealth(org string, h *quaymirror.Health) {
	// A status this version does not know (a newer Quay's, or a
	// server's nonsense) counts as UNKNOWN: the label stays bounded.
	n := make(map[quaymirror.SyncStatus]int, len(statuses)+1)
	for s, c := range h.ByStatus {
		if !slices.Contains(statuses, s) {
			s = statusUnknown
		}
		n[s] += c
	}
	for _, s := range append(statuses, statusUnknown) {
		if s == statusUnknown && n[s] == 0 {
			r.mirrors.DeleteLabelValues(org, string(s))
			continue
		}
		r.mirrors.WithLabelValues(org, string(s)).Set(float64(n[s]))
	}
	for p, n := range map[quaymirror.Problem]int{
		quaymirror.ProblemFailing: h.Failing, quaymirror.ProblemStuck: h.Stuck, quaymirror.ProblemNeverRun: h.NeverRun,
		quaymirror.ProblemDisabled: h.Disabled, quaymirror.ProblemUnreadable: h.Unreadable,
		quaymirror.ProblemMissing: h.Missing, quaymirror.ProblemNotMirrored: h.NotMirrored,
	} {
		r.problems.WithLabelValues(org, string(p)).Set(float64(n))
	}
}

// setVerification records a verify; r.mu is held.
func (r *Recorder) setVerification(org string, v *quaymirror.Verification) {
	r.missingTags.WithLabelValues(org).Set(float64(v.Missing))
	r.staleTags.WithLabelValues(org).Set(float64(v.Stale))
	r.recovery.WithLabelValues(org).Set(float64(v.RecoveryPointSeconds))
}
