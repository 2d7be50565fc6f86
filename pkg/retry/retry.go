package retry

import (
	"context"
	"errors"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// FullJitter returns the "full jitter" schedule: the n-th delay (n from 1)
// is uniform in [0, min(maxDelay, base·2^(n-1))]. backoff's exponential
// schedule randomises ±RandomizationFactor around its interval, so a
// factor of 1 around half the ceiling spans zero to the ceiling.
func FullJitter(base, maxDelay time.Duration) *backoff.ExponentialBackOff {
	return &backoff.ExponentialBackOff{
		InitialInterval:     base / 2,
		RandomizationFactor: 1,
		Multiplier:          2,
		MaxInterval:         maxDelay / 2,
	}
}

// EqualJitter returns the "equal jitter" schedule: the n-th delay is
// uniform in [c/2, c] with c = min(maxDelay, base·2^(n-1)), so a retry
// never comes sooner than half the nominal delay. A factor of 1/3 around
// three quarters of the ceiling spans exactly that.
func EqualJitter(base, maxDelay time.Duration) *backoff.ExponentialBackOff {
	return &backoff.ExponentialBackOff{
		InitialInterval:     base * 3 / 4,
		RandomizationFactor: 1.0 / 3,
		Multiplier:          2,
		MaxInterval:         maxDelay * 3 / 4,
	}
}

// errEnded stands in for a session that returned no error: it ended all
// the same and is reconnected.
var errEnded = errors.New("session ended")

// Reconnect keeps a long-lived session (a watch stream) going until ctx
// ends. After each end it calls notify with the session's error and the
// delay, then waits b's next delay (or until ctx ends) and starts another.
// A session that reports progress resets b first, so a stream that worked
// for a while is resumed at once rather than after the longest delay.
// There is no limit on tries or time; Reconnect returns when ctx ends (or
// if b returns backoff.Stop).
func Reconnect(ctx context.Context, b backoff.BackOff, session func(context.Context) (progressed bool, err error), notify func(err error, delay time.Duration)) {
	_, _ = backoff.Retry(ctx, func() (struct{}, error) {
		progressed, err := session(ctx)
		if progressed {
			b.Reset()
		}
		if err == nil {
			err = errEnded
		}
		return struct{}{}, err
	}, backoff.WithBackOff(b), backoff.WithMaxElapsedTime(0), backoff.WithNotify(notify))
}
