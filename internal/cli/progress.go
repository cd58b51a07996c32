package cli

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/quaymirror/quaymirror/quaymirror"
)

// DefaultProgressInterval is how often a run that is not on a terminal
// logs its progress.
const DefaultProgressInterval = 10 * time.Second

// progress shows the engines' progress (runner.WithProgress): live bars
// on a terminal, a log line at an interval otherwise. close stops it.
type progress interface {
	report(org string, p quaymirror.Progress)
	close()
}

// orgProgress is what is known of one organisation's run.
type orgProgress struct {
	quaymirror.Progress
	start   time.Time // first report
	changed bool      // since the last log line
}

// rate is the repositories done per second since the first report, and
// the time the rest needs at that rate (0 when unknown).
func (o *orgProgress) rate(now time.Time) (perSecond float64, eta time.Duration) {
	elapsed := now.Sub(o.start).Seconds()
	if elapsed <= 0 || o.Done == 0 {
		return 0, 0
	}
	perSecond = float64(o.Done) / elapsed
	if o.Total > o.Done {
		eta = time.Duration(float64(o.Total-o.Done) / perSecond * float64(time.Second))
	}
	return perSecond, eta
}

// logProgress logs, at every tick, one structured line per organisation
// whose run moved since the last: phase, repositories listed, done and
// to do, rate and estimated time left. For a CronJob's or the function's
// logs, where nothing can be redrawn.
type logProgress struct {
	logger hclog.Logger
	now    func() time.Time

	mu   sync.Mutex
	orgs map[string]*orgProgress

	stop chan struct{}
	done chan struct{}
}

// newLogProgress logs at every value of ticks until close.
func newLogProgress(logger hclog.Logger, ticks <-chan time.Time, now func() time.Time) *logProgress {
	l := &logProgress{logger: logger, now: now, orgs: map[string]*orgProgress{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for {
			select {
			case <-ticks:
				l.flush()
			case <-l.stop:
				return
			}
		}
	}()
	return l
}

func (l *logProgress) report(org string, p quaymirror.Progress) {
	l.mu.Lock()
	defer l.mu.Unlock()
	o := l.orgs[org]
	if o == nil || (o.Total > 0 && o.Done >= o.Total && p.Done < o.Done) {
		// A new run of the organisation starts afresh.
		o = &orgProgress{start: l.now()}
		l.orgs[org] = o
	}
	o.Progress, o.changed = p, true
}

// flush logs the organisations that moved.
func (l *logProgress) flush() {
	l.mu.Lock()
	now := l.now()
	type line struct {
		org string
		orgProgress
	}
	var lines []line
	for _, org := range slices.Sorted(maps.Keys(l.orgs)) {
		if o := l.orgs[org]; o.changed {
			o.changed = false
			lines = append(lines, line{org, *o})
		}
	}
	l.mu.Unlock()
	for _, ln := range lines {
		rate, eta := ln.rate(now)
		args := []any{"organization", ln.org, "phase", ln.Phase, "listed", ln.Listed, "done", ln.Done, "total", ln.Total,
			"per_second", math.Round(rate*10) / 10}
		if eta > 0 {
			args = append(args, "eta_seconds", math.Round(eta.Seconds()))
		}
		l.logger.Info("progress", args...)
	}
}

func (l *logProgress) close() {
	close(l.stop)
	<-l.done
}

// barProgress draws one live bar per organisation on a terminal, with
// mpb: its name, the phase, repositories done out of those that need a
// request, the rate and the time left.
type barProgress struct {
	p   *mpb.Progress
	out *switchWriter

	mu   sync.Mutex
	bars map[string]*orgBar
}

type orgBar struct {
	bar *mpb.Bar
	mu  sync.Mutex
	p   quaymirror.Progress
}

// newBarProgress draws on w (a terminal). While the bars are drawn,
// what is written to out (the logger's output) is printed above them.
func newBarProgress(w io.Writer, out *switchWriter, opts ...mpb.ContainerOption) *barProgress {
	p := mpb.New(append([]mpb.ContainerOption{mpb.WithOutput(w), mpb.WithWidth(32)}, opts...)...)
	out.set(p)
	return &barProgress{p: p, out: out, bars: map[string]*orgBar{}}
}

func (b *barProgress) report(org string, p quaymirror.Progress) {
	b.mu.Lock()
	ob := b.bars[org]
	if ob == nil || ob.bar.Completed() {
		ob = &orgBar{}
		ob.bar = b.p.AddBar(0,
			mpb.PrependDecorators(
				decor.Name(org, decor.WC{C: decor.DindentRight | decor.DextraSpace}),
				decor.Any(func(decor.Statistics) string { return ob.phase() }, decor.WC{C: decor.DindentRight | decor.DextraSpace}),
			),
			mpb.AppendDecorators(
				decor.AverageSpeed(nil, "%.1f/s", decor.WC{C: decor.DextraSpace}),
				decor.OnComplete(decor.AverageETA(decor.ET_STYLE_GO), "done"),
			),
		)
		b.bars[org] = ob
	}
	b.mu.Unlock()

	ob.mu.Lock()
	ob.p = p
	ob.mu.Unlock()
	if p.Total > 0 {
		ob.bar.SetTotal(int64(p.Total), false)
	}
	ob.bar.SetCurrent(int64(p.Done))
	if p.Total > 0 && p.Done >= p.Total {
		ob.bar.SetTotal(int64(p.Total), true)
	}
}

// phase is the text after the organisation's name.
func (ob *orgBar) phase() string {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	p := ob.p
	if p.Total == 0 {
		return fmt.Sprintf("%-5s %d listed, %d done", p.Phase, p.Listed, p.Done)
	}
	return fmt.Sprintf("%-5s %d/%d", p.Phase, p.Done, p.Total)
}

// close stops the bars that did not complete (a stopped run) and waits
// for the last drawing; the logger writes straight to the terminal again.
func (b *barProgress) close() {
	b.mu.Lock()
	for _, ob := range b.bars {
		if !ob.bar.Completed() {
			ob.bar.Abort(false)
		}
	}
	b.mu.Unlock()
	b.p.Wait()
	b.out.reset()
}

// switchWriter writes to the progress display while it is drawn, to its
// underlying writer otherwise.
type switchWriter struct {
	mu    sync.Mutex
	base  io.Writer
	other io.Writer
}

func (s *switchWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.other != nil {
		return s.other.Write(p)
	}
	return s.base.Write(p)
}

func (s *switchWriter) set(w io.Writer) {
	s.mu.Lock()
	s.other = w
	s.mu.Unlock()
}

func (s *switchWriter) reset() { s.set(nil) }
