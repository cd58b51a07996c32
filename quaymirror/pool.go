package quaymirror

import (
	"context"
	"sync"
)

// pool runs functions on at most n goroutines at once.
type pool struct {
	ctx context.Context
	sem chan struct{}
	wg  sync.WaitGroup
}

func newPool(ctx context.Context, n int) *pool {
	return &pool{ctx: ctx, sem: make(chan struct{}, n)}
}

// Go runs fn on a goroutine once fewer than n are running. It returns false
// without running fn when the pool's context ends first.
func (p *pool) Go(fn func()) bool {
	if p.ctx.Err() != nil {
		return false
	}
	select {
	case p.sem <- struct{}{}:
	case <-p.ctx.Done():
		return false
	}
	p.wg.Go(func() {
		defer func() { <-p.sem }()
		fn()
	})
	return true
}

// Wait waits for every function started by Go.
func (p *pool) Wait() { p.wg.Wait() }
