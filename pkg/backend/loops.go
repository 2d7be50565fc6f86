package backend

import (
	"context"
	"fmt"
	"sync"
)

// Loops are a service's background loops (schedulers, refreshers, event
// streams). They run on a context of their own that Stop cancels; Stop
// then waits for every loop to return, so no loop outlives the store it
// uses. A loop must return soon after its context ends.
type Loops struct {
	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup
}

// NewLoops returns an empty set of loops whose context carries ctx's
// values but not its cancellation: only Stop ends them.
func NewLoops(ctx context.Context) *Loops {
	lctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	return &Loops{ctx: lctx, stop: stop}
}

// Go starts loop in its own goroutine.
func (l *Loops) Go(loop func(ctx context.Context)) {
	l.wg.Go(func() { loop(l.ctx) })
}

// Stop cancels the loops and waits for them until ctx ends.
func (l *Loops) Stop(ctx context.Context) error {
	l.stop()
	done := make(chan struct{})
	go func() {
		l.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("background loops still running at the shutdown deadline: %w", ctx.Err())
	}
}

// StartLoops returns the service's loops and registers their Stop as a
// shutdown closer now. Closers run in reverse order of registration, so
// call it after registering the closers of what the loops use (the store):
// the loops then end before those close.
func (e *Env) StartLoops(ctx context.Context) *Loops {
	l := NewLoops(ctx)
	e.OnShutdown(l.Stop)
	return l
}
