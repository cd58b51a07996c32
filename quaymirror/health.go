package quaymirror

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/time/rate"
)

// Problem classifies an unhealthy mirror.
type Problem string

// Problems.
const (
	// ProblemFailing: the last synchronisation failed (sync_status FAIL).
	ProblemFailing Problem = "failing"
	// ProblemStuck: SYNCING past its expiration. Quay's worker never
	// picks such a mirror up again (quay/quay#7000); cancel and sync-now
	// revive it.
	ProblemStuck Problem = "stuck"
	// ProblemNeverRun: configured but never synchronised.
	ProblemNeverRun Problem = "never_run"
	// ProblemDisabled: the mirror is disabled (is_enabled false).
	ProblemDisabled Problem = "disabled"
	// ProblemCancelled: cancelled; it does not run again until sync-now.
	ProblemCancelled Problem = "cancelled"
	// ProblemUnreadable: the mirror could not be read.
	ProblemUnreadable Problem = "unreadable"
	// ProblemMissing: the repository exists at the source but not at the
	// destination (reported when HealthOptions.Source is set).
	ProblemMissing Problem = "missing"
	// ProblemNotMirrored: the repository exists at the source and at the
	// destination, where it is not a mirror (NORMAL or READ_ONLY state:
	// Quay's worker does not sync it). Reported when HealthOptions.Source
	// is set.
	ProblemNotMirrored Problem = "not_mirrored"
)

// MirrorHealth is the health of one mirror.
type MirrorHealth struct {
	Name             string     `json:"name"`
	SyncStatus       SyncStatus `json:"sync_status"`
	Enabled          bool       `json:"enabled"`
	NextSync         time.Time  `json:"next_sync,omitzero"`
	Expiration       time.Time  `json:"expiration,omitzero"`
	RetriesRemaining int        `json:"retries_remaining"`
	Problem          Problem    `json:"problem,omitempty"`
	// LastError is the text of the latest failure in the repository's
	// logs (failing mirrors, when the backend can read logs).
	LastError string `json:"last_error,omitempty"`
	// Healed is set when heal cancelled and re-triggered a stuck mirror;
	// HealError when that failed.
	Healed    bool   `json:"healed,omitempty"`
	HealError string `json:"heal_error,omitempty"`
}

// Health is the mirror health of one organisation.
type Health struct {
	Organization string `json:"organization"`
	// Mirrors counts the repositories in MIRROR state.
	Mirrors  int                `json:"mirrors"`
	ByStatus map[SyncStatus]int `json:"by_status"`
	Failing  int                `json:"failing"`
	Stuck    int                `json:"stuck"`
	NeverRun int                `json:"never_run"`
	Disabled int                `json:"disabled"`
	// Unreadable counts mirrors whose configuration could not be read.
	Unreadable int `json:"unreadable"`
	// Missing counts source repositories missing at the destination, and
	// NotMirrored those present there but not mirrored (both only when
	// HealthOptions.Source is set).
	Missing     int `json:"missing"`
	NotMirrored int `json:"not_mirrored"`
	// Repositories lists the mirrors with a problem, sorted by name.
	Repositories []MirrorHealth `json:"repositories"`
	Calls        Calls          `json:"calls"`
}

// Healthy reports whether no mirror is failing, stuck or unreadable and
// no source repository is missing or not mirrored at the destination.
// Never-run, cancelled and disabled mirrors are reported but healthy.
func (h *Health) Healthy() bool {
	return h.Failing == 0 && h.Stuck == 0 && h.Unreadable == 0 && h.Missing == 0 && h.NotMirrored == 0
}

// HealthOptions tunes CheckHealth. The zero value is usable.
type HealthOptions struct {
	// Concurrency bounds the mirrors read at once (default
	// DefaultConcurrency).
	Concurrency int
	// Limiter paces the requests (default: DefaultQPS, DefaultBurst).
	Limiter *rate.Limiter
	// Heal cancels and re-triggers stuck mirrors.
	Heal bool
	// Now is the clock that decides what is stuck (default time.Now).
	Now    func() time.Time
	Logger hclog.Logger

	// Source, when set, is listed too (SourceNamespace, default the
	// destination namespace; paced by SourceLimiter, default DefaultQPS,
	// DefaultBurst), and each of its repositories that Include and Exclude
	// select (as Policy's) is reported ProblemMissing when the
	// destination lacks it, ProblemNotMirrored when the destination has
	// it in NORMAL or READ_ONLY state.
	Source           RepositoryLister
	SourceNamespace  string
	SourceLimiter    *rate.Limiter
	Include, Exclude []string
}

// CheckHealth reads the mirror of every MIRROR repository of namespace and
// classifies it. It reads the logs of failing mirrors when dst is a
// SyncLogReader. With o.Source it also reports the source repositories
// the destination lacks or does not mirror. With Heal, stuck mirrors get
// CancelSync then SyncNow; it writes nothing else. An error is returned
// only when a listing fails or ctx ends.
func CheckHealth(ctx context.Context, dst Destination, namespace string, o HealthOptions) (*Health, error) {
	if o.Concurrency < 1 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Limiter == nil {
		o.Limiter = rate.NewLimiter(DefaultQPS, DefaultBurst)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	if o.SourceLimiter == nil {
		o.SourceLimiter = rate.NewLimiter(DefaultQPS, DefaultBurst)
	}
	if o.SourceNamespace == "" {
		o.SourceNamespace = namespace
	}
	c := &counter{}
	call := func(s side, fn func() error) error {
		lim := o.Limiter
		if s == sourceRead {
			lim = o.SourceLimiter
		}
		if err := lim.Wait(ctx); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return context.DeadlineExceeded
		}
		switch s {
		case sourceRead:
			c.srcReads.Add(1)
		case destinationRead:
			c.dstReads.Add(1)
		default:
			c.dstWrites.Add(1)
		}
		return fn()
	}

	var names []string
	states := make(map[string]State) // the destination, when the source is compared
	err := listPages(ctx, namespace, func(token string) (page RepositoryPage, err error) {
		err = call(destinationRead, func() error {
			page, err = dst.ListRepositories(ctx, namespace, token)
			return err
		})
		return page, err
	}, func(r Repository) bool {
		if r.State == StateMirror {
			names = append(names, r.Name)
		}
		if o.Source != nil {
			states[r.Name] = r.State
		}
		return true
	})
	if err != nil {
		return nil, err
	}

	h := &Health{Organization: namespace, Mirrors: len(names), ByStatus: make(map[SyncStatus]int)}
	if o.Source != nil {
		if err := compareSource(ctx, call, o, states, h); err != nil {
			return nil, err
		}
	}
	var mu sync.Mutex
	pool := newPool(ctx, o.Concurrency)
	now := o.Now()
	logs, canReadLogs := dst.(SyncLogReader)
	for _, name := range names {
		ok := pool.Go(func() {
			mh := MirrorHealth{Name: name}
			var m *Mirror
			err := call(destinationRead, func() (err error) {
				m, err = dst.GetMirror(ctx, namespace, name)
				return err
			})
			switch {
			case errors.Is(err, ErrNotFound):
				mh.Problem, mh.LastError = ProblemUnreadable, "in MIRROR state without a mirror configuration"
			case errors.Is(err, ErrUnreadable):
				mh.Problem, mh.LastError = ProblemUnreadable, err.Error()+"; fix: "+unreadableFix
			case err != nil:
				mh.Problem, mh.LastError = ProblemUnreadable, err.Error()
			default:
				mh.SyncStatus, mh.Enabled = m.Status.SyncStatus, m.Config.Enabled
				mh.NextSync, mh.Expiration, mh.RetriesRemaining = m.Status.NextSync, m.Status.Expiration, m.Status.RetriesRemaining
				mh.Problem = classify(m, now)
				if mh.Problem == ProblemStuck {
					mh.LastError = "SYNCING past its expiration at " + m.Status.Expiration.UTC().Format(time.RFC3339)
				}
			}
			if mh.Problem == ProblemFailing && canReadLogs {
				var entries []SyncLog
				if err := call(destinationRead, func() (err error) {
					entries, err = logs.SyncLogs(ctx, namespace, name)
					return err
				}); err == nil {
					mh.LastError = lastFailure(entries)
				}
			}
			if mh.Problem == ProblemStuck && o.Heal {
				mh.Healed, mh.HealError = heal(ctx, call, dst, namespace, name)
				o.Logger.Info("healed stuck mirror", "repository", namespace+"/"+name, "ok", mh.Healed)
			}
			mu.Lock()
			defer mu.Unlock()
			h.ByStatus[mh.SyncStatus]++
			switch mh.Problem {
			case ProblemFailing:
				h.Failing++
			case ProblemStuck:
				h.Stuck++
			case ProblemNeverRun:
				h.NeverRun++
			case ProblemDisabled:
				h.Disabled++
			case ProblemUnreadable:
				h.Unreadable++
			}
			if mh.Problem != "" {
				h.Repositories = append(h.Repositories, mh)
			}
		})
		if !ok {
			break
		}
	}
	pool.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	delete(h.ByStatus, "")
	slices.SortFunc(h.Repositories, func(a, b MirrorHealth) int { return cmp.Compare(a.Name, b.Name) })
	h.Calls = c.calls()
	return h, nil
}

// compareSource lists the source and reports, in h, its selected
// repositories that the destination (states, by name) lacks or does not
// mirror.
func compareSource(ctx context.Context, call func(side, func() error) error, o HealthOptions, states map[string]State, h *Health) error {
	selected := func(name string) bool {
		return (len(o.Include) == 0 || matchAny(o.Include, name)) && !matchAny(o.Exclude, name)
	}
	err := listPages(ctx, o.SourceNamespace, func(token string) (page RepositoryPage, err error) {
		err = call(sourceRead, func() error {
			page, err = o.Source.ListRepositories(ctx, o.SourceNamespace, token)
			return err
		})
		return page, err
	}, func(r Repository) bool {
		if !selected(r.Name) {
			return true
		}
		state, exists := states[r.Name]
		switch {
		case !exists:
			h.Missing++
			h.Repositories = append(h.Repositories, MirrorHealth{Name: r.Name, Problem: ProblemMissing,
				LastError: "missing at the destination: the next sync creates it (if it keeps failing, see the sync's report)"})
		case state == StateNormal || state == StateReadOnly || state == "":
			h.NotMirrored++
			h.Repositories = append(h.Repositories, MirrorHealth{Name: r.Name, Problem: ProblemNotMirrored,
				LastError: fmt.Sprintf("exists at the destination (state %s) but is not mirrored: the mirror worker never syncs it "+
					"(a sync configures an empty one; one that holds tags needs adopt-existing)", stateName(state))})
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	return nil
}

func stateName(s State) string {
	if s == "" {
		return "unknown"
	}
	return string(s)
}

func classify(m *Mirror, now time.Time) Problem {
	s := m.Status
	switch {
	case s.SyncStatus == SyncSyncing && !s.Expiration.IsZero() && s.Expiration.Before(now):
		return ProblemStuck
	case s.SyncStatus == SyncFail:
		return ProblemFailing
	case !m.Config.Enabled:
		return ProblemDisabled
	case s.SyncStatus == SyncCancel:
		return ProblemCancelled
	case s.SyncStatus == SyncNeverRun:
		return ProblemNeverRun
	}
	return ""
}

// lastFailure returns the message of the newest failure event.
func lastFailure(entries []SyncLog) string {
	for _, l := range entries {
		if l.Kind == LogSyncFailed || l.Kind == LogTagFailed {
			if l.Tag != "" {
				return fmt.Sprintf("%s (tag %s, %s)", l.Message, l.Tag, l.Time.UTC().Format(time.RFC3339))
			}
			return fmt.Sprintf("%s (%s)", l.Message, l.Time.UTC().Format(time.RFC3339))
		}
	}
	return ""
}

// heal cancels a stuck synchronisation and asks for a new one.
func heal(ctx context.Context, call func(side, func() error) error, dst Destination, ns, name string) (bool, string) {
	if err := call(destinationWrite, func() error { return dst.CancelSync(ctx, ns, name) }); err != nil {
		return false, "sync-cancel: " + err.Error()
	}
	if err := call(destinationWrite, func() error { return dst.SyncNow(ctx, ns, name) }); err != nil {
		return false, "sync-now: " + err.Error()
	}
	return true, ""
}
