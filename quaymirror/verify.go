package quaymirror

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Verification is what Engine.Verify found in one organisation pair: how
// much of the source the destination holds, tag by tag.
type Verification struct {
	Organization            string `json:"organization"`
	DestinationOrganization string `json:"destination_organization"`
	// VerifiedAt is the engine's clock when the verification began: the
	// time the ages and the grace are measured against.
	VerifiedAt time.Time `json:"verified_at,omitzero"`
	// GraceSeconds is the policy's VerifyGrace in seconds.
	GraceSeconds int64 `json:"grace_seconds"`
	// RepositoriesChecked counts the source repositories the include and
	// exclude globs select that were verified, present at the
	// destination or not (those that could not be read included: see
	// Errors).
	RepositoriesChecked int `json:"repositories_checked"`
	// TagsChecked counts the source tags the tag globs select in those
	// repositories, each compared with the destination.
	TagsChecked int `json:"tags_checked"`
	// Missing counts the tags the destination lacks, Stale those it
	// holds at another manifest digest, both beyond the grace. Pending
	// counts the tags that are missing or stale but changed at the source
	// within the grace; a tag counts in one of the three at most.
	Missing int `json:"missing"`
	Stale   int `json:"stale"`
	Pending int `json:"pending"`
	// RecoveryPointSeconds is the age, in whole seconds at VerifiedAt,
	// of the oldest source change still missing or stale beyond the
	// grace: a fail-over now loses what the source changed since. 0 when
	// nothing is missing or stale.
	RecoveryPointSeconds int64 `json:"recovery_point_seconds"`
	// OldestChange is when that change was made at the source; zero
	// when nothing is missing or stale.
	OldestChange time.Time `json:"oldest_change,omitzero"`
	// Errors counts the repositories that could not be compared (their
	// tags could not be read); each is listed with its error.
	Errors int `json:"errors"`
	// Interrupted: the context ended before every repository was
	// verified; the counts cover the repositories verified until then.
	Interrupted bool `json:"interrupted"`
	// Repositories lists, sorted by name, only the repositories with a
	// missing, stale or pending tag, or an error.
	Repositories []VerifiedRepository `json:"repositories"`
	// Calls counts the requests Verify made.
	Calls Calls `json:"calls"`
}

// Complete reports whether the verification ran to its end, compared
// every repository and found nothing missing or stale beyond the grace.
func (v *Verification) Complete() bool {
	return v.Missing == 0 && v.Stale == 0 && v.Errors == 0 && !v.Interrupted
}

// RecoveryPoint is RecoveryPointSeconds as a duration.
func (v *Verification) RecoveryPoint() time.Duration {
	return time.Duration(v.RecoveryPointSeconds) * time.Second
}

// VerifiedRepository is one repository of a Verification that needs
// attention. The tag lists are sorted and never nil.
type VerifiedRepository struct {
	Name string `json:"name"`
	// Reason says why every tag of the repository counts as missing: it
	// is missing at the destination, or there but not mirrored. Empty
	// for a mirror whose tags were compared one by one.
	Reason  string   `json:"reason,omitempty"`
	Missing []string `json:"missing"`
	Stale   []string `json:"stale"`
	Pending []string `json:"pending"`
	// OldestChange is when the oldest of its missing or stale tags
	// changed at the source; zero when none is.
	OldestChange time.Time `json:"oldest_change,omitzero"`
	// Error is why the repository could not be compared; empty when it
	// was.
	Error string `json:"error"`

	err error
}

// Err returns the repository's failure as an error (wrapping the
// sentinels), or nil.
func (r VerifiedRepository) Err() error { return r.err }

// VerifyPreflight checks, without writing anything, what Verify needs:
// both sets of credentials are valid, both organisations exist (reading
// is enough: no administration is needed), and both backends list tags.
// The error is non-nil only when ctx ends.
func (e *Engine) VerifyPreflight(ctx context.Context) (Checklist, error) {
	p := e.policy
	c := &counter{}
	var list Checklist
	add := func(ch Check) { list = append(list, ch) }
	srcOK := e.checkCredentials(ctx, c, sourceRead, e.src, "source", p.SourceNamespace, TopicSourceCredentials, add)
	dstOK := e.checkCredentials(ctx, c, destinationRead, e.dst, "destination", p.DestinationNamespace, TopicDestinationCredentials, add)
	if srcOK {
		e.checkOrganization(ctx, c, sourceRead, e.src, "source", p.SourceNamespace, false, add)
	} else {
		add(Check{Name: "source organization", Status: CheckSkipped, Detail: "source credentials failed"})
	}
	if dstOK {
		e.checkOrganization(ctx, c, destinationRead, e.dst, "destination", p.DestinationNamespace, false, add)
	} else {
		add(Check{Name: "destination organization", Status: CheckSkipped, Detail: "destination credentials failed"})
	}
	var lacking []string
	if _, ok := e.src.(TagLister); !ok {
		lacking = append(lacking, "source")
	}
	if _, ok := e.dst.(TagLister); !ok {
		lacking = append(lacking, "destination")
	}
	if len(lacking) > 0 {
		add(Check{Name: "tag listing", Status: CheckFail, Detail: fmt.Sprintf("the %s backend cannot list tags", joinAnd(lacking)),
			Fix: "use backends that implement quaymirror.TagLister (registry/quay does)"})
	} else {
		add(Check{Name: "tag listing", Status: CheckOK, Detail: "both backends list tags with their digests"})
	}
	if err := ctx.Err(); err != nil {
		return list, err
	}
	return list, nil
}

func joinAnd(words []string) string {
	if len(words) == 2 {
		return words[0] + " and " + words[1]
	}
	return words[0]
}

// Verify compares, for every source repository that the include and
// exclude globs select, the source's tags that the tag globs select with
// the destination's, and sorts each one that differs into missing (the
// destination lacks it), stale (the destination holds it at another
// manifest digest) or pending (missing or stale, but changed at the
// source less than the policy's VerifyGrace ago: the mirror has not had
// its chance yet). A repository missing at the destination, or there but
// not mirrored (NORMAL or READ_ONLY, or without a mirror configuration),
// counts as entirely missing: nothing keeps its tags up to date. Tags
// only at the destination are not reported. A tag whose change time the
// source does not tell is never pending and does not move the recovery
// point; a tag whose digest one side does not tell is never stale.
//
// Verify only reads. Both backends must be TagListers (ErrUnsupported
// otherwise). It paces its requests, bounds its concurrency and opens
// its breaker like Plan. Calls made: the listings of both sides, then per
// selected source repository its tag listing (on Quay one request up to
// 500 tags, then one per 100 tags more) and, when the destination
// mirrors it and the source has selected tags, the destination's tag
// listing; a repository the destination lists without a state costs a
// mirror read more.
//
// A repository whose tags cannot be read is reported with its error and
// the others go on. An error is returned only when a listing fails (or
// a backend lacks tag listing). When ctx ends, the repositories in
// flight are left out and the Verification returned covers those
// verified until then, with Interrupted set.
func (e *Engine) Verify(ctx context.Context) (*Verification, error) {
	src, ok := e.src.(TagLister)
	if !ok {
		return nil, fmt.Errorf("verify: the source backend cannot list tags: %w", ErrUnsupported)
	}
	dst, ok := e.dst.(TagLister)
	if !ok {
		return nil, fmt.Errorf("verify: the destination backend cannot list tags: %w", ErrUnsupported)
	}
	p := e.policy
	c := &counter{}
	now := e.now().UTC()
	v := &Verification{
		Organization:            p.SourceNamespace,
		DestinationOrganization: p.DestinationNamespace,
		VerifiedAt:              now,
		GraceSeconds:            int64(p.VerifyGrace / time.Second),
		Repositories:            []VerifiedRepository{},
	}
	interrupted := func() (*Verification, error) {
		v.Interrupted = true
		v.finish(now)
		v.Calls = c.calls()
		return v, nil
	}

	lctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// The destination listing says which repositories exist there and
	// whether they are mirrors. It runs beside the source listing and
	// the reads of the source's tags, and each repository waits for it to
	// be complete only to be compared.
	states := make(map[string]State)
	dstDone := make(chan struct{})
	var dstErr error
	go func() {
		defer close(dstDone)
		dstErr = listPages(lctx, p.DestinationNamespace, func(token string) (page RepositoryPage, err error) {
			err = e.call(lctx, c, destinationRead, func() error {
				page, err = e.dst.ListRepositories(lctx, p.DestinationNamespace, token)
				return err
			})
			return page, err
		}, func(r Repository) bool {
			states[r.Name] = r.State
			return true
		})
		if dstErr != nil {
			cancel() // nothing can be compared: stop the source's side
		}
	}()
	srcRepos := make(chan Repository, sourceLookahead)
	var srcErr error
	go func() {
		defer close(srcRepos)
		srcErr = listPages(lctx, p.SourceNamespace, func(token string) (page RepositoryPage, err error) {
			err = e.call(lctx, c, sourceRead, func() error {
				page, err = e.src.ListRepositories(lctx, p.SourceNamespace, token)
				return err
			})
			return page, err
		}, func(r Repository) bool {
			select {
			case srcRepos <- r:
				return true
			case <-lctx.Done():
				return false
			}
		})
	}()
	// destination tells a worker the repository's state at the
	// destination once the listing is complete; ok is false when the
	// listing failed or ctx ended.
	destination := func(name string) (state State, exists, ok bool) {
		select {
		case <-dstDone:
		case <-lctx.Done():
			return "", false, false
		}
		if dstErr != nil {
			return "", false, false
		}
		state, exists = states[name]
		return state, exists, true
	}

	var mu sync.Mutex
	done := 0
	record := func(r verdict) {
		mu.Lock()
		v.add(r)
		done++
		n := done
		mu.Unlock()
		e.report(Progress{Phase: "verify", Done: n})
	}
	pool := newPool(lctx, e.concurrency)
	for r := range srcRepos {
		if !e.selected(r.Name) {
			continue
		}
		if !pool.Go(func() {
			if res, ok := e.verifyRepository(lctx, c, src, dst, r.Name, destination, now); ok {
				record(res)
			}
		}) {
			break
		}
	}
	for range srcRepos {
		// Only when the context ended: the lister stops at its next send.
	}
	<-dstDone
	pool.Wait()
	switch {
	case ctx.Err() != nil:
		return interrupted()
	case dstErr != nil:
		return nil, fmt.Errorf("destination: %w", dstErr)
	case srcErr != nil:
		return nil, fmt.Errorf("source: %w", srcErr)
	}
	v.finish(now)
	v.Calls = c.calls()
	return v, nil
}

// verdict is the verification of one repository.
type verdict struct {
	repo VerifiedRepository
	// tags is the number of selected source tags compared.
	tags int
}

// add counts r into v; the caller serialises calls.
func (v *Verification) add(r verdict) {
	v.RepositoriesChecked++
	v.TagsChecked += r.tags
	v.Missing += len(r.repo.Missing)
	v.Stale += len(r.repo.Stale)
	v.Pending += len(r.repo.Pending)
	if r.repo.Error != "" {
		v.Errors++
	}
	if t := r.repo.OldestChange; !t.IsZero() && (v.OldestChange.IsZero() || t.Before(v.OldestChange)) {
		v.OldestChange = t
	}
	if r.repo.Error != "" || len(r.repo.Missing)+len(r.repo.Stale)+len(r.repo.Pending) > 0 {
		v.Repositories = append(v.Repositories, r.repo)
	}
}

// finish sorts the repositories and computes the recovery point.
func (v *Verification) finish(now time.Time) {
	slices.SortFunc(v.Repositories, func(a, b VerifiedRepository) int { return cmp.Compare(a.Name, b.Name) })
	if !v.OldestChange.IsZero() {
		v.RecoveryPointSeconds = int64(max(0, now.Sub(v.OldestChange)) / time.Second)
	}
}

// verifyRepository compares one selected source repository with the
// destination, whose listing tells, once complete, the state it lists
// the repository in (exists false: it does not). ok is false when ctx
// ended, or the listing failed, before the comparison was done.
func (e *Engine) verifyRepository(ctx context.Context, c *counter, src, dst TagLister, name string,
	destination func(name string) (state State, exists, ok bool), now time.Time) (_ verdict, ok bool) {
	p := e.policy
	r := VerifiedRepository{Name: name, Missing: []string{}, Stale: []string{}, Pending: []string{}}
	// fail records err, which names the repository already.
	fail := func(err error) (verdict, bool) {
		if ctx.Err() != nil {
			return verdict{}, false
		}
		r.err = err
		r.Error = err.Error()
		e.logger.Warn("repository not verified", "repository", name, "error", r.Error)
		return verdict{repo: r}, true
	}
	all, err := Tags(ctx, pacedTags{e, c, sourceRead, src}, p.SourceNamespace, name)
	if err != nil {
		return fail(fmt.Errorf("source: %w", err))
	}
	selected := slices.DeleteFunc(all, func(t Tag) bool { return !matchAny(p.TagGlobs, t.Name) })
	if len(selected) == 0 {
		return verdict{repo: r}, true
	}

	state, exists, ok := destination(name)
	if !ok {
		return verdict{}, false
	}
	ns := p.DestinationNamespace
	mirrored := false
	switch {
	case !exists:
		r.Reason = "missing at the destination"
	case state == StateMirror || state == StateOrgMirror:
		mirrored = true
	case state == "":
		// A backend that lists no states: a mirror configuration is what
		// makes the repository a mirror.
		err := e.call(ctx, c, destinationRead, func() error {
			_, err := e.dst.GetMirror(ctx, ns, name)
			return err
		})
		switch {
		case errors.Is(err, ErrNotFound):
			r.Reason = "not mirrored at the destination (no mirror configuration)"
		case err != nil:
			return fail(&RepositoryError{Op: "read mirror", Repository: ns + "/" + name, Err: err})
		default:
			mirrored = true
		}
	default:
		r.Reason = fmt.Sprintf("not mirrored at the destination (state %s)", state)
	}
	held := map[string]Tag{}
	if mirrored {
		tags, err := Tags(ctx, pacedTags{e, c, destinationRead, dst}, ns, name)
		switch {
		case errors.Is(err, ErrNotFound):
			r.Reason = "missing at the destination"
		case err != nil:
			return fail(fmt.Errorf("destination: %w", err))
		}
		for _, t := range tags {
			held[t.Name] = t
		}
	}

	grace := p.VerifyGrace
	for _, t := range selected {
		d, has := held[t.Name]
		stale := has && t.Digest != "" && d.Digest != "" && t.Digest != d.Digest
		if has && !stale {
			continue
		}
		switch {
		case !t.LastModified.IsZero() && now.Sub(t.LastModified) < grace:
			r.Pending = append(r.Pending, t.Name)
			continue
		case stale:
			r.Stale = append(r.Stale, t.Name)
		default:
			r.Missing = append(r.Missing, t.Name)
		}
		if !t.LastModified.IsZero() && (r.OldestChange.IsZero() || t.LastModified.Before(r.OldestChange)) {
			r.OldestChange = t.LastModified.UTC()
		}
	}
	return verdict{repo: r, tags: len(selected)}, true
}

// pacedTags is a TagLister whose every page is one call of the engine:
// paced by the side's limiter, counted, and stopped by its breaker.
type pacedTags struct {
	e *Engine
	c *counter
	s side
	l TagLister
}

func (p pacedTags) ListTags(ctx context.Context, namespace, name, pageToken string) (page TagPage, err error) {
	err = p.e.call(ctx, p.c, p.s, func() (err error) {
		page, err = p.l.ListTags(ctx, namespace, name, pageToken)
		return err
	})
	return page, err
}
