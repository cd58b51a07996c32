package metrics

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"
	dto "github.com/prometheus/client_model/go"

	"github.com/quaymirror/quaymirror/runner"
)

// Job is the Pushgateway job of every push.
const Job = "quaymirror"

// ErrPushgatewayURL is wrapped by the errors of ParsePushgatewayURL.
var ErrPushgatewayURL = errors.New("invalid Pushgateway URL")

// ParsePushgatewayURL checks raw, the base URL of a Pushgateway
// (http(s)://host[:port][/route-prefix]; the /metrics/job/... part is
// added by each push), and returns it. User information, if any, is the
// basic-auth credentials of the pushes. Its errors never show raw's user
// information.
func ParsePushgatewayURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	switch {
	case err != nil:
		// url.Parse's error quotes the input, credentials included.
		return nil, fmt.Errorf("%w: not a URL", ErrPushgatewayURL)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("%w: %s: the scheme must be http or https", ErrPushgatewayURL, Redact(u))
	case u.Host == "" || u.Hostname() == "":
		return nil, fmt.Errorf("%w: %s has no host", ErrPushgatewayURL, Redact(u))
	case u.RawQuery != "" || u.Fragment != "" || u.Opaque != "":
		return nil, fmt.Errorf("%w: %s: no query or fragment; the push adds /metrics/job/...", ErrPushgatewayURL, Redact(u))
	case strings.Contains(u.Path, "/metrics/job"):
		return nil, fmt.Errorf("%w: %s: give the Pushgateway's base URL; the push adds /metrics/job/...", ErrPushgatewayURL, Redact(u))
	}
	return u, nil
}

// Redact returns u as text without its user information (and without
// query or fragment, which may carry credentials too).
func Redact(u *url.URL) string {
	c := *u
	c.User, c.RawQuery, c.Fragment, c.RawFragment, c.ForceQuery = nil, "", "", "", false
	return c.String()
}

// Pusher pushes a Recorder's metrics to a Pushgateway.
type Pusher struct {
	base     string // without user information
	user     *url.Userinfo
	client   *http.Client
	rec      *Recorder
	maxError int
}

// NewPusher returns a Pusher of rec's metrics to the Pushgateway at
// rawURL (see ParsePushgatewayURL), through client (nil: a client with
// http.DefaultTransport). It sends nothing.
func NewPusher(rawURL string, rec *Recorder, client *http.Client) (*Pusher, error) {
	if rec == nil {
		return nil, errors.New("metrics: NewPusher needs a Recorder")
	}
	u, err := ParsePushgatewayURL(rawURL)
	if err != nil {
		return nil, err
	}
	if client == nil {
		client = &http.Client{}
	}
	p := &Pusher{user: u.User, client: client, rec: rec, maxError: 300}
	u.User = nil
	p.base = strings.TrimSuffix(u.String(), "/")
	return p, nil
}

// String returns the Pushgateway's URL without user information.
func (p *Pusher) String() string { return p.base }

// Push pushes, for each organisation, its series of the command's runs
// into the group {job="quaymirror", organization, command} with the POST
// method, which replaces only the metrics of the names pushed: the
// last-run series of the command, the series that command sets
// (quaymirror_repositories for sync, quaymirror_mirrors and
// quaymirror_mirror_problems for status, the tag and recovery point
// series for verify) and quaymirror_api_requests_total of the command.
// An organisation without any such series is not pushed. Each
// organisation is pushed even when another's push fails; the error joins
// the failures, each naming the organisation and the URL without user
// information.
func (p *Pusher) Push(ctx context.Context, cmd runner.Command, orgs ...string) error {
	var errs []error
	for _, org := range orgs {
		g := p.rec.group(org, cmd)
		mfs, err := g.Gather()
		if err != nil {
			errs = append(errs, fmt.Errorf("metrics: %s: %w", org, err))
			continue
		}
		if len(mfs) == 0 {
			continue
		}
		pu := push.New(p.base, Job).Grouping("organization", org).Grouping("command", string(cmd)).
			Gatherer(g).Client(p.client)
		if p.user != nil {
			pass, _ := p.user.Password()
			pu = pu.BasicAuth(p.user.Username(), pass)
		}
		if err := pu.AddContext(ctx); err != nil {
			errs = append(errs, fmt.Errorf("metrics: push of %s (%s) to %s: %s", org, cmd, p.base, p.short(err)))
		}
	}
	return errors.Join(errs...)
}

// PushTimeout bounds the push of one organisation's run by an Observer,
// whatever the client's own timeout.
const PushTimeout = 30 * time.Second

// Observer returns the observer to give runner.WithObserver in place of
// the Recorder's Observe: it records each Event into the Pusher's
// Recorder, then, when the Event ends an organisation's run of a command
// (its sync, plan, check, status or verify; not a join), pushes that
// organisation's group of the command, as Push does. So every run is
// pushed once per organisation as soon as that organisation is done, a
// run cut short by a stop, Close or the time budget included, and a run
// that other calls joined only once. The push happens on the run's
// goroutine, within PushTimeout, before the next organisation starts: it
// takes from the run's time budget. A failure is a warning in log (one
// line, without the URL's user information) and changes nothing of the
// run.
func (p *Pusher) Observer(log hclog.Logger) func(runner.Event) {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return func(e runner.Event) {
		p.rec.Observe(e)
		org, cmd, ended := runOf(e)
		if !ended {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), PushTimeout)
		defer cancel()
		if err := p.Push(ctx, cmd, org); err != nil {
			log.Warn("pushing the metrics failed; the run's result stands", "organization", org, "command", string(cmd),
				"error", strings.Join(strings.Fields(err.Error()), " "))
			return
		}
		log.Debug("metrics pushed", "pushgateway", p.base, "organization", org, "command", string(cmd))
	}
}

// short makes err one bounded line: the push package quotes the
// Pushgateway's whole answer.
func (p *Pusher) short(err error) string {
	s := strings.Join(strings.Fields(err.Error()), " ")
	if len(s) > p.maxError {
		s = s[:p.maxError] + "..."
	}
	return s
}

// group is the Gatherer of what a push of org's cmd run carries: the
// series of org whose command is cmd, or which cmd owns, without the
// organization and command labels (the group's key holds them).
func (r *Recorder) group(org string, cmd runner.Command) prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		mfs, err := r.Gather()
		if err != nil {
			return nil, err
		}
		var out []*dto.MetricFamily
		for _, mf := range mfs {
			if o, owned := owner[mf.GetName()]; owned && o != cmd {
				continue
			}
			var kept []*dto.Metric
			for _, m := range mf.GetMetric() {
				if label(m, "organization") != org {
					continue
				}
				if c, ok := labelOK(m, "command"); ok && c != string(cmd) {
					continue
				}
				m.Label = dropLabels(m.GetLabel(), "organization", "command")
				kept = append(kept, m)
			}
			if len(kept) > 0 {
				mf.Metric = kept
				out = append(out, mf)
			}
		}
		return out, nil
	})
}

func label(m *dto.Metric, name string) string {
	v, _ := labelOK(m, name)
	return v
}

func labelOK(m *dto.Metric, name string) (string, bool) {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue(), true
		}
	}
	return "", false
}

func dropLabels(ls []*dto.LabelPair, names ...string) []*dto.LabelPair {
	out := ls[:0:0]
	for _, l := range ls {
		drop := false
		for _, n := range names {
			drop = drop || l.GetName() == n
		}
		if !drop {
			out = append(out, l)
		}
	}
	return out
}
