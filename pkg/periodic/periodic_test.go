package periodic_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/periodic"
)

const interval = 10 * time.Second

// TestEvery runs Every on synctest's fake clock: the times are exact, not
// waited for.
func TestEvery(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		atStart    bool
		callTakes  time.Duration   // how long each call runs
		wakeAt     []time.Duration // sends on the OnWake channel
		cancelAt   time.Duration
		want       []time.Duration // when the calls started
		wantReturn time.Duration   // when Every returned
	}{
		{name: "every interval, the first one interval after the start",
			cancelAt: 35 * time.Second, want: secs(10, 20, 30), wantReturn: 35 * time.Second},
		{name: "at start, then every interval",
			atStart: true, cancelAt: 35 * time.Second, want: secs(0, 10, 20, 30), wantReturn: 35 * time.Second},
		{name: "a slow call is followed by the next at once, the missed ticks dropped",
			callTakes: 25 * time.Second, cancelAt: 65 * time.Second, want: secs(10, 35, 60), wantReturn: 85 * time.Second},
		{name: "a cancel during a call returns when the call ends, with no call after it",
			callTakes: 5 * time.Second, cancelAt: 12 * time.Second, want: secs(10), wantReturn: 15 * time.Second},
		{name: "a wake calls at once and leaves the interval as it was",
			wakeAt: secs(3, 14), cancelAt: 25 * time.Second, want: secs(3, 10, 14, 20), wantReturn: 25 * time.Second},
		{name: "cancelled before the first interval: no call",
			cancelAt: 9 * time.Second, wantReturn: 9 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				ctx, cancel := context.WithCancel(t.Context())
				wake := make(chan struct{})
				opts := []periodic.Option{periodic.OnWake(wake)}
				if tc.atStart {
					opts = append(opts, periodic.AtStart())
				}
				var calls []time.Duration
				done := make(chan struct{})
				go func() {
					defer close(done)
					periodic.Every(ctx, interval, func(got context.Context) {
						assert.Equal(t, ctx, got, "f gets Every's context")
						calls = append(calls, time.Since(start))
						time.Sleep(tc.callTakes)
					}, opts...)
				}()
				for _, at := range tc.wakeAt {
					time.Sleep(at - time.Since(start))
					wake <- struct{}{}
				}
				time.Sleep(tc.cancelAt - time.Since(start))
				cancel()
				<-done
				require.Equal(t, tc.wantReturn, time.Since(start))
				require.Equal(t, tc.want, calls)
			})
		})
	}
}

// TestEveryEndedContext: a context that has already ended gets no call,
// not even AtStart's, and Every returns at once.
func TestEveryEndedContext(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		start := time.Now()
		periodic.Every(ctx, interval, func(context.Context) { t.Error("called after the context ended") }, periodic.AtStart())
		require.Zero(t, time.Since(start))
	})
}

func secs(s ...int) []time.Duration {
	d := make([]time.Duration, len(s))
	for i, v := range s {
		d[i] = time.Duration(v) * time.Second
	}
	return d
}
