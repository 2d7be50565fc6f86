package periodic

import (
	"context"
	"time"
)

// Option changes when Every calls its function.
type Option func(*options)

type options struct {
	atStart bool
	wake    <-chan struct{}
}

// AtStart makes the first call at once, before the first interval has
// passed.
func AtStart() Option { return func(o *options) { o.atStart = true } }

// OnWake makes each receive on ch a call too, at once; the interval goes
// on as it was. A nil ch adds nothing; a closed one would call f in a busy
// loop, so ch is never closed.
func OnWake(ch <-chan struct{}) Option { return func(o *options) { o.wake = ch } }

// Every calls f with ctx every interval until ctx ends, then returns. f
// runs on the caller's goroutine, one call at a time; a call that takes
// longer than interval is followed by the next one at once, never by a
// burst. f is not called once ctx has ended. interval must be positive
// (time.NewTicker panics otherwise).
func Every(ctx context.Context, interval time.Duration, f func(context.Context), opts ...Option) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	if o.atStart && ctx.Err() == nil {
		f(ctx)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-o.wake:
		}
		if ctx.Err() != nil {
			return
		}
		f(ctx)
	}
}
