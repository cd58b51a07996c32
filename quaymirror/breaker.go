package quaymirror

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
)

// breaker stops a run from calling a registry that keeps failing. Each
// call already carries the backend's retries (half a minute and more
// against a server that is down), so once Threshold calls in a row have
// given up with ErrUnavailable or ErrRateLimited, the rest of the run fails
// its calls at once instead of paying that wait for every remaining
// repository. Any answer from the server (success or a refusal such as
// ErrNotFound) closes the count again while the breaker is not open; once
// open it stays open for the rest of the Plan or Apply.
type breaker struct {
	consecutive atomic.Int32
	open        atomic.Bool
}

// errOpen reports why a call was not attempted.
func (b *breaker) errOpen(which string, threshold int) error {
	return fmt.Errorf("not attempted: the %s registry failed %d requests in a row, each after its retries: %w",
		which, threshold, ErrUnavailable)
}

// record counts the outcome of a call.
func (b *breaker) record(err error, threshold int) {
	switch {
	case threshold <= 0:
	case errors.Is(err, ErrUnavailable) || errors.Is(err, ErrRateLimited):
		if int(b.consecutive.Add(1)) >= threshold {
			b.open.Store(true)
		}
	case err == nil || !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded):
		b.consecutive.Store(0)
	}
}

// WithBreaker sets how many calls in a row to one registry may give up
// (ErrUnavailable or ErrRateLimited, after the backend's own retries)
// before the rest of a Plan or Apply stops calling it and reports the
// remaining repositories failed at once; 0 turns this off. The default is
// the concurrency, at least 3: one whole wave of workers failing.
func WithBreaker(n int) Option {
	return func(e *Engine) error {
		if n < 0 {
			return policyErr("Breaker", "%d is negative", n)
		}
		e.breakerThreshold = n
		e.breakerSet = true
		return nil
	}
}
