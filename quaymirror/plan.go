package quaymirror

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Action is what the engine decided for one repository.
type Action string

// Actions.
const (
	// ActionCreate: the repository is missing at the destination; create
	// it and its mirror configuration.
	ActionCreate Action = "create"
	// ActionConfigure: the repository exists at the destination without a
	// mirror configuration; create the configuration.
	ActionConfigure Action = "configure"
	// ActionUpdate: the mirror configuration drifted from the policy, or a
	// recreate was asked for; update it.
	ActionUpdate Action = "update"
	// ActionUnchanged: the mirror is as the policy wants it.
	ActionUnchanged Action = "unchanged"
	// ActionSkip: the repository is left alone; Reason says why.
	ActionSkip Action = "skip"
	// ActionOrphan: the destination mirrors a source repository that no
	// longer exists. Reported, never deleted; disabled only with
	// Policy.DisableOrphans.
	ActionOrphan Action = "orphan"
)

// Change is one field-level difference between a mirror configuration and
// the policy. Secrets are shown redacted.
type Change struct {
	Field Field  `json:"field"`
	From  string `json:"from"`
	To    string `json:"to"`
}

// Item is the plan for one repository.
type Item struct {
	// Name is the repository name (the same at source and destination).
	Name   string `json:"name"`
	Action Action `json:"action"`
	// Reason explains the action in a sentence.
	Reason string `json:"reason,omitempty"`
	// Changes lists the field-level differences an update (or a deferred
	// update) would write.
	Changes []Change `json:"diff,omitempty"`
	// Err is set when the destination could not be read for this
	// repository; the action is then ActionSkip and Apply reports it as
	// failed.
	Err error `json:"-"`

	source Repository // the source repository (create, configure, update)
	// desired is the configuration to write when it is not the one the
	// policy wants for the name (orphans); nil otherwise, so that a plan
	// of many repositories does not hold a configuration per repository
	// (see Engine.target).
	desired *MirrorConfig
	fields  []Field // the fields an update sends
	toState State   // a state to set after the update, if any
	// recheck: the destination was an empty NORMAL repository at plan
	// time; Apply reads it again right before the write that makes it a
	// mirror, in case tags were pushed since.
	recheck bool
}

// Plan is what Apply would do, per repository, sorted by name.
type Plan struct {
	SourceNamespace      string    `json:"organization"`
	DestinationNamespace string    `json:"destination_organization"`
	Items                []Item    `json:"repositories"`
	Created              time.Time `json:"created"`
	// Calls counts the requests Plan made.
	Calls Calls `json:"calls"`

	engine *Engine
}

// Count returns how many items have the action.
func (p *Plan) Count(a Action) int {
	n := 0
	for _, it := range p.Items {
		if it.Action == a {
			n++
		}
	}
	return n
}

// Plan reads both sides and decides one action per repository. It writes
// nothing. A repository whose destination cannot be read gets an item with
// Err set, and planning goes on; an error is returned only when a listing
// fails or ctx ends.
//
// Calls made: the destination listing, the source listing, then per source
// repository that exists at the destination one mirror read (MIRROR state)
// or a repository read plus, when it holds no tags, a mirror read (NORMAL
// state). Repositories missing at the destination cost no read. Repositories
// only at the destination cost a mirror read when they are in MIRROR state,
// to find orphans.
func (e *Engine) Plan(ctx context.Context) (*Plan, error) {
	p := e.policy
	c := &counter{}
	plan := &Plan{
		SourceNamespace:      p.SourceNamespace,
		DestinationNamespace: p.DestinationNamespace,
		Created:              e.now().UTC(),
		engine:               e,
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// Both listings run at once. A source repository whose destination
	// entry is already known is planned at once; the others wait for the
	// end of the destination listing, which alone can tell that a
	// repository is missing. Both sides list in creation order, so in a
	// mirrored organisation most entries meet early and the reads of the
	// plan overlap the listings.
	dst := &destinationIndex{repos: make(map[string]Repository)}
	dstDone := make(chan struct{})
	var dstErr error
	go func() {
		defer close(dstDone)
		dstErr = listPages(ctx, p.DestinationNamespace, func(token string) (page RepositoryPage, err error) {
			err = e.call(ctx, c, destinationRead, func() error {
				page, err = e.dst.ListRepositories(ctx, p.DestinationNamespace, token)
				return err
			})
			return page, err
		}, dst.add)
		if dstErr != nil {
			cancel() // stop the source listing and the workers
			return
		}
		dst.finish()
	}()

	var (
		mu    sync.Mutex
		items []Item
		done  int
	)
	add := func(it Item) {
		mu.Lock()
		items = append(items, it)
		done++
		n := done
		mu.Unlock()
		e.report(Progress{Phase: "plan", Done: n})
	}
	pool := newPool(ctx, e.concurrency)
	planExisting := func(src, d Repository) bool {
		return pool.Go(func() { add(e.planExisting(ctx, c, src, d)) })
	}

	// The source listing runs on its own goroutine, a few pages ahead of
	// the workers: were the workers to wait for each page, they would
	// idle for a round trip after every page. A repository whose
	// destination entry is known is planned at once; one that is not yet
	// known waits for the end of the destination listing, unless that
	// listing is already complete (then it is missing there).
	srcRepos := make(chan Repository, sourceLookahead)
	var srcErr error
	go func() {
		defer close(srcRepos)
		srcErr = listPages(ctx, p.SourceNamespace, func(token string) (page RepositoryPage, err error) {
			err = e.call(ctx, c, sourceRead, func() error {
				page, err = e.src.ListRepositories(ctx, p.SourceNamespace, token)
				return err
			})
			return page, err
		}, func(src Repository) bool {
			select {
			case srcRepos <- src:
				return true
			case <-ctx.Done():
				return false
			}
		})
	}()
	sourceCount := 0
	var pending []Repository
	for src := range srcRepos {
		sourceCount++
		if !e.selected(src.Name) {
			dst.claim(src.Name)
			add(Item{Name: src.Name, Action: ActionSkip, Reason: "excluded by the include/exclude globs"})
			continue
		}
		d, known, complete := dst.claim(src.Name)
		if known {
			if !planExisting(src, d) {
				break
			}
			continue
		}
		if complete {
			add(e.createItem(src))
			continue
		}
		pending = append(pending, src)
	}
	for range srcRepos {
		// Only when the context ended: the lister stops at its next
		// send.
	}
	<-dstDone
	switch {
	case dstErr != nil:
		pool.Wait()
		return nil, fmt.Errorf("destination: %w", dstErr)
	case srcErr != nil:
		cancel()
		pool.Wait()
		return nil, fmt.Errorf("source: %w", srcErr)
	}

	// The destination listing is complete: what is still unknown is
	// missing there.
	for _, src := range pending {
		d, known, _ := dst.claim(src.Name)
		if !known {
			add(e.createItem(src))
			continue
		}
		if !planExisting(src, d) {
			break
		}
	}
	pending = nil

	// What is left of the destination listing is not at the source. Those
	// in MIRROR state that pull from our source organisation are orphans.
	for _, d := range dst.unclaimed() {
		if d.State != StateMirror || !e.selected(d.Name) {
			continue
		}
		if !pool.Go(func() {
			if it, ok := e.planOrphan(ctx, c, d, sourceCount); ok {
				add(it)
			}
		}) {
			break
		}
	}
	pool.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(items, func(a, b Item) int { return cmp.Compare(a.Name, b.Name) })
	plan.Items = items
	plan.Calls = c.calls()
	return plan, nil
}

// sourceLookahead is how many source repositories the listing may read
// ahead of the workers: a few of Quay's 100-repository pages, enough to
// keep the workers busy while the next page is fetched, and a bound on
// what the plan holds beyond its items.
const sourceLookahead = 300

// destinationIndex is the destination listing as it arrives. Source
// repositories claim their names; entries never claimed are only at the
// destination.
type destinationIndex struct {
	mu       sync.Mutex
	repos    map[string]Repository
	claimed  map[string]bool
	complete bool // the listing ended without error
}

// finish records that the whole listing has arrived.
func (d *destinationIndex) finish() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.complete = true
}

func (d *destinationIndex) add(r Repository) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.repos[r.Name] = r
	return true
}

// claim marks name as a source repository and takes its destination entry
// if it has arrived. complete tells, in the same instant, whether the whole
// listing had arrived: only then does a missing entry mean that the
// repository is missing at the destination. (Asked apart, the listing could
// end between the two answers, and a repository on its last page be taken
// for missing and created a second time.)
func (d *destinationIndex) claim(name string) (r Repository, known, complete bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.claimed == nil {
		d.claimed = make(map[string]bool)
	}
	d.claimed[name] = true
	r, known = d.repos[name]
	delete(d.repos, name)
	return r, known, d.complete
}

// unclaimed returns the entries no source repository claimed.
func (d *destinationIndex) unclaimed() []Repository {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]Repository, 0, len(d.repos))
	for name, r := range d.repos {
		if !d.claimed[name] {
			out = append(out, r)
		}
	}
	return out
}

// selected applies the include and exclude globs.
func (e *Engine) selected(name string) bool {
	if len(e.policy.Include) > 0 && !matchAny(e.policy.Include, name) {
		return false
	}
	return !matchAny(e.policy.Exclude, name)
}

// desired is the mirror configuration the policy wants for a source
// repository. The start date is set when the mirror is created, and the
// password only when a write is sent (withPassword), so that plans never
// hold it.
func (e *Engine) desired(name string) MirrorConfig {
	p := e.policy
	return MirrorConfig{
		Enabled:            true,
		ExternalReference:  e.externalReference(name),
		Username:           p.Username,
		SyncInterval:       p.SyncInterval,
		TagGlobs:           p.TagGlobs,
		Robot:              p.Robot,
		VerifyTLS:          !p.SkipTLSVerify,
		UnsignedImages:     p.UnsignedImages,
		Proxy:              p.Proxy,
		SkopeoTimeout:      p.SkopeoTimeout,
		ArchitectureFilter: p.ArchitectureFilter,
	}
}

func (e *Engine) withPassword(cfg MirrorConfig) MirrorConfig {
	cfg.Password = e.policy.Password
	return cfg
}

func (e *Engine) externalReference(name string) string {
	return e.sourcePrefix() + name
}

func (e *Engine) sourcePrefix() string {
	return e.policy.SourceRegistry + "/" + e.policy.SourceNamespace + "/"
}

// target is the configuration an item's writes send (before the
// password is added).
func (e *Engine) target(it Item) MirrorConfig {
	if it.desired != nil {
		return *it.desired
	}
	return e.desired(it.Name)
}

func (e *Engine) createItem(src Repository) Item {
	return Item{
		Name:   src.Name,
		Action: ActionCreate,
		Reason: "missing at the destination",
		source: src,
	}
}

// planExisting decides for a source repository that exists at the
// destination, reading what the decision needs.
func (e *Engine) planExisting(ctx context.Context, c *counter, src Repository, dst Repository) Item {
	it := Item{Name: src.Name, source: src}
	ns := e.policy.DestinationNamespace
	var repo *Repository
	readRepo := func() error {
		return e.call(ctx, c, destinationRead, func() (err error) {
			repo, err = e.dst.GetRepository(ctx, ns, src.Name)
			return err
		})
	}
	if dst.State == "" {
		// Quay lists the state (since 3.6); a backend that does not may
		// still report it for the repository itself.
		if err := readRepo(); err != nil {
			return failed(it, "read repository", ns, err)
		}
		dst.State = repo.State
	}
	tags := 0
	switch dst.State {
	case StateReadOnly:
		return skip(it, "the destination repository is READ_ONLY")
	case StateOrgMirror:
		return skip(it, "the destination repository is managed by organization-level mirroring")
	case StateMirror:
	case StateNormal, "":
		if repo == nil {
			if err := readRepo(); err != nil {
				return failed(it, "read repository", ns, err)
			}
		}
		tags = len(repo.Tags)
		it.recheck = !e.policy.AdoptExisting
		if dst.State == StateNormal {
			if tags > 0 && !e.policy.AdoptExisting {
				return skip(it, holdsTags(tags))
			}
			it.toState = StateMirror
		}
	default:
		return skip(it, fmt.Sprintf("the destination repository has unknown state %q", dst.State))
	}

	var cur *Mirror
	err := e.call(ctx, c, destinationRead, func() (err error) {
		cur, err = e.dst.GetMirror(ctx, ns, src.Name)
		return err
	})
	switch {
	case errors.Is(err, ErrNotFound):
		it.Action = ActionConfigure
		it.toState = ""
		switch {
		case dst.State == StateMirror:
			it.Reason = "in MIRROR state without a mirror configuration"
		case tags > 0 && !e.policy.AdoptExisting:
			// A server that reports no state: tags and no mirror make
			// it an ordinary repository with content.
			return skip(it, holdsTags(tags))
		case tags > 0:
			it.Reason = fmt.Sprintf("NORMAL repository holding %s adopted (adopt-existing): tags the globs do not select will be deleted by the mirror", plural(tags, "tag"))
		default:
			it.Reason = "empty repository without a mirror configuration"
		}
		return it
	case errors.Is(err, ErrUnreadable) && e.policy.Recreate:
		// The configuration exists but cannot be read (Quay: credentials
		// that no longer decrypt); re-sending it whole repairs it.
		it.Action = ActionUpdate
		it.Reason = "mirror configuration unreadable (" + err.Error() + "); recreate re-sends it whole, credentials included"
		it.fields = recreateFields(e.policy)
		it.Changes = append(it.Changes, Change{Field: FieldPassword, From: "", To: passwordShown(e.policy.Password) + " (re-sent)"})
		if it.toState != "" {
			it.Changes = append(it.Changes, Change{Field: FieldState, From: string(StateNormal), To: string(it.toState)})
		}
		return it
	case err != nil:
		return failed(it, "read mirror", ns, err)
	}
	return e.compare(it, cur)
}

func holdsTags(n int) string {
	return fmt.Sprintf("the destination repository is a NORMAL repository holding %s; "+
		"mirroring would delete the tags the tag globs do not select (set adopt-existing to allow it)", plural(n, "tag"))
}

// compare decides between update, unchanged and a deferred update for an
// existing mirror configuration.
func (e *Engine) compare(it Item, cur *Mirror) Item {
	it.Changes = diff(cur.Config, e.target(it), e.policy.SkopeoTimeout != 0)
	for _, ch := range it.Changes {
		it.fields = append(it.fields, ch.Field)
	}
	if slices.Contains(it.fields, FieldUsername) && !slices.Contains(it.fields, FieldPassword) {
		// A new username needs its password; Quay keeps them as a pair.
		it.fields = append(it.fields, FieldPassword)
		it.Changes = append(it.Changes, Change{Field: FieldPassword, From: "", To: passwordShown(e.policy.Password)})
	}
	if e.policy.Recreate {
		it.fields = recreateFields(e.policy)
		if !slices.ContainsFunc(it.Changes, func(c Change) bool { return c.Field == FieldPassword }) {
			it.Changes = append(it.Changes, Change{Field: FieldPassword, From: "", To: passwordShown(e.policy.Password) + " (re-sent)"})
		}
	}
	if it.toState != "" {
		it.Changes = append(it.Changes, Change{Field: FieldState, From: string(StateNormal), To: string(it.toState)})
	}
	switch {
	case len(it.fields) == 0 && it.toState == "":
		it.Action = ActionUnchanged
		it.Reason = "mirror configuration matches the policy"
	case cur.Status.SyncStatus == SyncSyncing:
		// Quay may leave a mirror stuck in SYNCING when its configuration
		// changes under a running synchronisation.
		it.Action = ActionSkip
		it.Reason = fmt.Sprintf("mirror is SYNCING; %s deferred to the next run", plural(len(it.Changes), "change"))
		it.fields, it.toState = nil, ""
	case e.policy.Recreate:
		it.Action = ActionUpdate
		it.Reason = "recreate requested: the full configuration is re-sent"
	case len(it.fields) == 0:
		it.Action = ActionUpdate
		it.Reason = "mirror configuration present but the repository is NORMAL"
	default:
		it.Action = ActionUpdate
		it.Reason = "mirror configuration drifted from the policy"
	}
	return it
}

// recreateFields is every field but the start date (re-sending it would
// move the schedule) and the fields the policy leaves to the server.
func recreateFields(p Policy) []Field {
	var out []Field
	for _, f := range mirrorFields {
		switch {
		case f == FieldSyncStartDate,
			f == FieldSkopeoTimeout && p.SkopeoTimeout == 0,
			f == FieldArchitectureFilter && len(p.ArchitectureFilter) == 0:
			continue
		}
		out = append(out, f)
	}
	return out
}

// planOrphan reads the mirror of a destination-only repository and returns
// an orphan item when it pulls from the source organisation.
func (e *Engine) planOrphan(ctx context.Context, c *counter, d Repository, sourceCount int) (Item, bool) {
	ns := e.policy.DestinationNamespace
	var cur *Mirror
	err := e.call(ctx, c, destinationRead, func() (err error) {
		cur, err = e.dst.GetMirror(ctx, ns, d.Name)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return Item{}, false
	}
	it := Item{Name: d.Name}
	if err != nil {
		return failed(it, "read mirror", ns, err), true
	}
	if !strings.HasPrefix(cur.Config.ExternalReference, e.sourcePrefix()) {
		return Item{}, false
	}
	it.Action = ActionOrphan
	it.Reason = "gone from the source organization; reported, not deleted"
	switch {
	case !e.policy.DisableOrphans || !cur.Config.Enabled:
		if !cur.Config.Enabled {
			it.Reason = "gone from the source organization; mirror already disabled"
		}
	case sourceCount == 0:
		// An empty source listing is what a bad source token looks like;
		// never disable a whole organisation on that evidence.
		it.Reason = "gone from the source organization; not disabled because the source listed no repositories at all (check the source token)"
	case cur.Status.SyncStatus == SyncSyncing:
		it.Reason = "gone from the source organization; mirror is SYNCING, disabling deferred to the next run"
	default:
		it.Reason = "gone from the source organization; its mirror will be disabled"
		disabled := cur.Config
		disabled.Enabled = false
		it.desired = &disabled
		it.fields = []Field{FieldEnabled}
		it.Changes = []Change{{Field: FieldEnabled, From: "true", To: "false"}}
	}
	return it, true
}

func skip(it Item, reason string) Item {
	it.Action = ActionSkip
	it.Reason = reason
	return it
}

func failed(it Item, op, ns string, err error) Item {
	it.Action = ActionSkip
	it.Err = &RepositoryError{Op: op, Repository: ns + "/" + it.Name, Err: err}
	it.Reason = "could not read the destination: " + err.Error()
	if errors.Is(err, ErrUnreadable) {
		it.Reason += "; fix: " + unreadableFix
	}
	return it
}

// unreadableFix is what to do about a mirror configuration the
// destination holds but cannot return.
const unreadableFix = "run once with recreate (RECREATE_MIRROR_CONFIG=true): it re-sends every mirror configuration whole, " +
	"credentials included, without reading it first"

func plural(n int, word string) string {
	switch {
	case n == 1:
		return "1 " + word
	case strings.HasSuffix(word, "y"):
		return strconv.Itoa(n) + " " + strings.TrimSuffix(word, "y") + "ies"
	}
	return strconv.Itoa(n) + " " + word + "s"
}

func passwordShown(s Secret) string {
	if s == "" {
		return "(none)"
	}
	return s.String()
}

// diff lists the fields where cur differs from want. The password cannot
// be compared (Quay never returns it) and the start date is the schedule,
// not configuration. The skopeo timeout counts only when the policy sets
// one.
func diff(cur, want MirrorConfig, withSkopeoTimeout bool) []Change {
	var out []Change
	add := func(f Field, from, to string) {
		if from != to {
			out = append(out, Change{Field: f, From: from, To: to})
		}
	}
	add(FieldEnabled, strconv.FormatBool(cur.Enabled), strconv.FormatBool(want.Enabled))
	add(FieldExternalReference, cur.ExternalReference, want.ExternalReference)
	add(FieldUsername, cur.Username, want.Username)
	add(FieldSyncInterval, seconds(cur.SyncInterval), seconds(want.SyncInterval))
	if !sameSet(cur.TagGlobs, want.TagGlobs) {
		out = append(out, Change{Field: FieldTagGlobs, From: strings.Join(cur.TagGlobs, ","), To: strings.Join(want.TagGlobs, ",")})
	}
	add(FieldRobot, cur.Robot, want.Robot)
	add(FieldVerifyTLS, strconv.FormatBool(cur.VerifyTLS), strconv.FormatBool(want.VerifyTLS))
	add(FieldUnsignedImages, strconv.FormatBool(cur.UnsignedImages), strconv.FormatBool(want.UnsignedImages))
	add(FieldProxy, proxyString(cur.Proxy), proxyString(want.Proxy))
	if withSkopeoTimeout {
		add(FieldSkopeoTimeout, seconds(cur.SkopeoTimeout), seconds(want.SkopeoTimeout))
	}
	if !sameSet(cur.ArchitectureFilter, want.ArchitectureFilter) {
		out = append(out, Change{Field: FieldArchitectureFilter, From: strings.Join(cur.ArchitectureFilter, ","), To: strings.Join(want.ArchitectureFilter, ",")})
	}
	return out
}

func seconds(d time.Duration) string { return strconv.FormatInt(int64(d/time.Second), 10) + "s" }

func proxyString(p Proxy) string {
	if p.IsZero() {
		return "(none)"
	}
	return fmt.Sprintf("http=%s https=%s no_proxy=%s", p.HTTPProxy, p.HTTPSProxy, p.NoProxy)
}

// StaggeredStart returns the start date of a new mirror: the first instant
// at or after now whose position in the interval equals a hash of the
// repository's full name. Mirrors of one organisation therefore spread
// evenly over the interval instead of all starting at once, and a
// repository always lands on the same phase. The result is whole seconds,
// UTC, as Quay requires.
func StaggeredStart(fullName string, interval time.Duration, now time.Time) time.Time {
	secs := int64(interval / time.Second)
	if secs <= 0 {
		return now.UTC().Truncate(time.Second)
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(fullName))
	offset := int64(h.Sum64() % uint64(secs))
	unix := now.Unix()
	if now.After(time.Unix(unix, 0)) {
		unix++ // a fraction of a second past: the next whole second
	}
	start := unix - ((unix%secs)+secs)%secs + offset
	if start < unix {
		start += secs
	}
	return time.Unix(start, 0).UTC()
}
