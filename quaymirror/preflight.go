package quaymirror

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// CheckStatus is the outcome of one preflight check.
type CheckStatus string

// Check statuses.
const (
	CheckOK   CheckStatus = "ok"
	CheckWarn CheckStatus = "warn"
	CheckFail CheckStatus = "fail"
	// CheckSkipped: the backend cannot answer this check, or an earlier
	// failure makes it meaningless.
	CheckSkipped CheckStatus = "skipped"
)

// Check is one preflight check.
type Check struct {
	Name   string      `json:"name"`
	Status CheckStatus `json:"status"`
	// Detail says what was found.
	Detail string `json:"detail,omitempty"`
	// Fix says what to do about a failure or warning.
	Fix string `json:"fix,omitempty"`
}

// Checklist is the result of Preflight, in the order the checks ran.
type Checklist []Check

// OK reports whether no check failed.
func (l Checklist) OK() bool {
	for _, c := range l {
		if c.Status == CheckFail {
			return false
		}
	}
	return true
}

// Failed returns the failed checks.
func (l Checklist) Failed() Checklist {
	var out Checklist
	for _, c := range l {
		if c.Status == CheckFail {
			out = append(out, c)
		}
	}
	return out
}

// Err returns nil when no check failed, else an error naming the failed
// checks that wraps ErrPreflight.
func (l Checklist) Err() error {
	failed := l.Failed()
	if len(failed) == 0 {
		return nil
	}
	names := make([]string, len(failed))
	for i, c := range failed {
		names[i] = c.Name + " (" + c.Detail + ")"
	}
	return fmt.Errorf("%w: %s", ErrPreflight, strings.Join(names, "; "))
}

// ErrPreflight is wrapped by Checklist.Err.
var ErrPreflight = errors.New("preflight failed")

// Preflight checks, without writing anything, that a sync can work: both
// sets of credentials are valid, both organisations exist and the
// destination one may be administered, the source listing answers, the
// destination has repository mirroring and no organisation-level mirror
// locking the organisation, the robot exists, and the policy asks for
// nothing the destination cannot do. It warns when the destination is in
// read-only mode or likely to refuse the source location (SourceChecker). Checks the backends cannot answer are reported
// CheckSkipped. Failed checks and warnings carry a fix, the backend's own
// when it is an Adviser. The error is non-nil only when ctx ends.
func (e *Engine) Preflight(ctx context.Context) (Checklist, error) {
	p := e.policy
	c := &counter{}
	var list Checklist
	add := func(ch Check) { list = append(list, ch) }

	srcOK := e.checkCredentials(ctx, c, sourceRead, e.src, "source", p.SourceNamespace, TopicSourceCredentials, add)
	dstOK := e.checkCredentials(ctx, c, destinationRead, e.dst, "destination", p.DestinationNamespace, TopicDestinationCredentials, add)

	if srcOK {
		e.checkOrganization(ctx, c, sourceRead, e.src, "source", p.SourceNamespace, false, add)
		var page RepositoryPage
		err := e.call(ctx, c, sourceRead, func() (err error) {
			page, err = e.src.ListRepositories(ctx, p.SourceNamespace, "")
			return err
		})
		switch {
		case err != nil:
			add(Check{Name: "source listing", Status: CheckFail, Detail: err.Error(),
				Fix: adviceFor(e.src, TopicSourceListing, p.SourceNamespace)})
		case len(page.Repositories) == 0:
			add(Check{Name: "source listing", Status: CheckWarn, Detail: "the source organization lists no repositories",
				Fix: adviceFor(e.src, TopicSourceEmpty, p.SourceNamespace)})
		default:
			more := ""
			if page.Next != "" {
				more = " (more pages follow)"
			}
			add(Check{Name: "source listing", Status: CheckOK, Detail: fmt.Sprintf("first page lists %s%s", plural(len(page.Repositories), "repository"), more)})
		}
	} else {
		add(Check{Name: "source organization", Status: CheckSkipped, Detail: "source credentials failed"})
	}

	if dstOK {
		e.checkOrganization(ctx, c, destinationRead, e.dst, "destination", p.DestinationNamespace, true, add)
		e.checkCapabilities(ctx, c, add)
		e.checkSourceLocation(ctx, c, add)
		e.checkOrgMirror(ctx, c, add)
		e.checkRobot(ctx, c, add)
	} else {
		add(Check{Name: "destination organization", Status: CheckSkipped, Detail: "destination credentials failed"})
	}
	if err := ctx.Err(); err != nil {
		return list, err
	}
	return list, nil
}

func (e *Engine) checkCredentials(ctx context.Context, c *counter, s side, backend any, which, org string, topic Topic, add func(Check)) bool {
	name := which + " credentials"
	auth, ok := backend.(Authenticator)
	if !ok {
		add(Check{Name: name, Status: CheckSkipped, Detail: "the backend cannot tell who its credentials belong to"})
		return true
	}
	var u *User
	err := e.call(ctx, c, s, func() (err error) {
		u, err = auth.CurrentUser(ctx)
		return err
	})
	switch {
	case errors.Is(err, ErrUnauthorized):
		add(Check{Name: name, Status: CheckFail, Detail: "the " + which + " registry rejected the credentials (unknown, expired, or not allowed to say whose they are)",
			Fix: adviceFor(backend, topic, org)})
		return false
	case err != nil:
		add(Check{Name: name, Status: CheckFail, Detail: "the " + which + " registry did not answer: " + err.Error(),
			Fix: "check the " + which + " registry URL, the network path and the CA bundle"})
		return false
	}
	add(Check{Name: name, Status: CheckOK, Detail: "token acts for " + u.Username})
	return true
}

func (e *Engine) checkOrganization(ctx context.Context, c *counter, s side, backend any, which, org string, needAdmin bool, add func(Check)) {
	name := which + " organization"
	r, ok := backend.(OrganizationReader)
	if !ok {
		add(Check{Name: name, Status: CheckSkipped, Detail: "the backend cannot read organizations"})
		return
	}
	var o *Organization
	err := e.call(ctx, c, s, func() (err error) {
		o, err = r.GetOrganization(ctx, org)
		return err
	})
	// A source backend may say how to fix a missing or unreadable
	// organisation in its own terms (a Harbor project, say).
	fix := func(generic string) string {
		if a, ok := backend.(Adviser); ok && which == "source" {
			if s := a.Advice(TopicSourceOrganization, org); s != "" {
				return s
			}
		}
		return generic
	}
	switch {
	case errors.Is(err, ErrNotFound):
		add(Check{Name: name, Status: CheckFail, Detail: fmt.Sprintf("organization %q does not exist on the %s registry", org, which),
			Fix: fix(fmt.Sprintf("create organization %s on the %s registry (Quay does not create it on push)", org, which))})
	case err != nil:
		add(Check{Name: name, Status: CheckFail, Detail: err.Error(), Fix: fix("check the token's permissions on " + org)})
	case needAdmin && !o.IsAdmin:
		add(Check{Name: name, Status: CheckFail, Detail: fmt.Sprintf("the credentials may not administer %s", org),
			Fix: adviceFor(backend, TopicOrganizationAdmin, org)})
	default:
		add(Check{Name: name, Status: CheckOK, Detail: fmt.Sprintf("%s exists", org)})
	}
}

func (e *Engine) checkCapabilities(ctx context.Context, c *counter, add func(Check)) {
	r, ok := e.dst.(CapabilityReader)
	if !ok {
		add(Check{Name: "repository mirroring", Status: CheckSkipped, Detail: "the backend cannot describe the server"})
		return
	}
	var caps Capabilities
	err := e.call(ctx, c, destinationRead, func() (err error) {
		caps, err = r.Capabilities(ctx)
		return err
	})
	switch {
	case err != nil:
		add(Check{Name: "repository mirroring", Status: CheckFail, Detail: err.Error(), Fix: "check the destination registry URL"})
		return
	case !caps.RepositoryMirroring:
		add(Check{Name: "repository mirroring", Status: CheckFail, Detail: "the destination registry has repository mirroring disabled",
			Fix: adviceFor(e.dst, TopicRepositoryMirroring, "")})
		return
	}
	enabled := "enabled"
	if caps.Version != "" {
		enabled += " (version " + caps.Version + ")"
	}
	add(Check{Name: "repository mirroring", Status: CheckOK, Detail: enabled})
	if caps.ReadOnly {
		// A warning: read-only mode is a passing state (a maintenance
		// window); a sync meeting it stops at its first write.
		add(Check{Name: "writable", Status: CheckWarn,
			Detail: "the destination registry is in read-only mode: it refuses every write for now, and a sync would stop at its first one",
			Fix:    adviceFor(e.dst, TopicReadOnly, "")})
	}
	if e.policy.SkopeoTimeout != 0 && !caps.SkopeoTimeout {
		add(Check{Name: "skopeo timeout", Status: CheckFail, Detail: "the destination registry does not accept a skopeo timeout (Quay 3.15+)",
			Fix: "remove the skopeo timeout from the configuration or upgrade the destination"})
	}
	switch {
	case len(e.policy.ArchitectureFilter) == 0:
	case !caps.ArchitectureFilter:
		add(Check{Name: "architecture filter", Status: CheckFail, Detail: "the destination registry's version has no architecture filter",
			Fix: adviceFor(e.dst, TopicArchitectureFilter, "")})
	case !caps.SparseIndex:
		add(Check{Name: "architecture filter", Status: CheckFail,
			Detail: "the destination registry refuses a non-empty architecture filter: its sparse index feature is off",
			Fix:    adviceFor(e.dst, TopicSparseIndex, "")})
	}
}

// checkSourceLocation warns when the destination is likely to refuse
// mirrors that pull from the source registry (Quay's SSRF protection).
func (e *Engine) checkSourceLocation(ctx context.Context, c *counter, add func(Check)) {
	const name = "source location"
	host := e.policy.SourceRegistry
	sc, ok := e.dst.(SourceChecker)
	if !ok {
		return // a warning only: nothing to say without the capability
	}
	err := e.call(ctx, c, destinationRead, func() error { return sc.CheckSource(ctx, host) })
	switch {
	case errors.Is(err, ErrSourceNotAllowed):
		add(Check{Name: name, Status: CheckWarn, Detail: err.Error(), Fix: adviceFor(e.dst, TopicSourceNotAllowed, host)})
	case err != nil:
		add(Check{Name: name, Status: CheckWarn, Detail: "cannot tell whether the destination accepts mirrors of " + host + ": " + err.Error()})
	default:
		add(Check{Name: name, Status: CheckOK, Detail: "nothing suggests the destination refuses mirrors that pull from " + host})
	}
}

func (e *Engine) checkOrgMirror(ctx context.Context, c *counter, add func(Check)) {
	org := e.policy.DestinationNamespace
	r, ok := e.dst.(OrgMirrorReader)
	if !ok {
		add(Check{Name: "organization-level mirroring", Status: CheckSkipped, Detail: "the backend cannot tell"})
		return
	}
	var mirrored bool
	err := e.call(ctx, c, destinationRead, func() (err error) {
		mirrored, err = r.OrganizationMirrored(ctx, org)
		return err
	})
	switch {
	case err != nil:
		add(Check{Name: "organization-level mirroring", Status: CheckFail, Detail: err.Error()})
	case mirrored:
		add(Check{Name: "organization-level mirroring", Status: CheckFail,
			Detail: org + " is managed by Quay's native organization-level mirroring, which forbids repository mirrors",
			Fix:    "delete the organization mirror of " + org + " or mirror into another organization"})
	default:
		add(Check{Name: "organization-level mirroring", Status: CheckOK, Detail: "none on " + org})
	}
}

func (e *Engine) checkRobot(ctx context.Context, c *counter, add func(Check)) {
	org, short, _ := SplitRobot(e.policy.Robot)
	r, ok := e.dst.(RobotReader)
	if !ok {
		add(Check{Name: "robot", Status: CheckSkipped, Detail: "the backend cannot read robots"})
		return
	}
	err := e.call(ctx, c, destinationRead, func() error {
		_, err := r.GetRobot(ctx, org, short)
		return err
	})
	switch {
	case errors.Is(err, ErrNotFound):
		add(Check{Name: "robot", Status: CheckFail, Detail: "robot " + e.policy.Robot + " does not exist",
			Fix: fmt.Sprintf("create robot account %s in %s (Quay gives it write on each mirrored repository itself)", short, org)})
	case err != nil:
		add(Check{Name: "robot", Status: CheckFail, Detail: err.Error(), Fix: adviceFor(e.dst, TopicOrganizationAdmin, org)})
	default:
		add(Check{Name: "robot", Status: CheckOK, Detail: e.policy.Robot + " exists"})
	}
}
