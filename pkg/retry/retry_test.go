package retry_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/retry"
)

// TestSchedules draws each attempt's delay many times: every draw is in
// the schedule's bounds and the draws cover them (the jitter is real).
func TestSchedules(t *testing.T) {
	const ms = time.Millisecond
	tests := []struct {
		name string
		b    *backoff.ExponentialBackOff
		// lo and hi bound the n-th delay, n from 1.
		lo, hi []time.Duration
	}{
		{
			name: "full jitter 200ms..30s",
			b:    retry.FullJitter(200*ms, 30*time.Second),
			lo:   []time.Duration{0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
			hi:   []time.Duration{200 * ms, 400 * ms, 800 * ms, 1600 * ms, 3200 * ms, 6400 * ms, 12800 * ms, 25600 * ms, 30 * time.Second, 30 * time.Second},
		},
		{
			name: "full jitter 50ms..2s",
			b:    retry.FullJitter(50*ms, 2*time.Second),
			lo:   []time.Duration{0, 0, 0, 0, 0, 0, 0},
			hi:   []time.Duration{50 * ms, 100 * ms, 200 * ms, 400 * ms, 800 * ms, 1600 * ms, 2 * time.Second},
		},
		{
			name: "equal jitter 100ms..5s",
			b:    retry.EqualJitter(100*ms, 5*time.Second),
			lo:   []time.Duration{50 * ms, 100 * ms, 200 * ms, 400 * ms, 800 * ms, 1600 * ms, 2500 * ms, 2500 * ms},
			hi:   []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, 1600 * ms, 3200 * ms, 5 * time.Second, 5 * time.Second},
		},
		{
			name: "equal jitter 250ms..10s",
			b:    retry.EqualJitter(250*ms, 10*time.Second),
			lo:   []time.Duration{125 * ms, 250 * ms, 500 * ms, 1000 * ms, 2000 * ms, 4000 * ms, 5000 * ms},
			hi:   []time.Duration{250 * ms, 500 * ms, 1000 * ms, 2000 * ms, 4000 * ms, 8000 * ms, 10 * time.Second},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const draws = 2000
			got := make([][]time.Duration, len(tt.lo))
			for range draws {
				tt.b.Reset()
				for n := range tt.lo {
					got[n] = append(got[n], tt.b.NextBackOff())
				}
			}
			for n, ds := range got {
				lo, hi := tt.lo[n], tt.hi[n]
				quarter := (hi - lo) / 4
				low, high := false, false
				for _, d := range ds {
					// backoff draws from [lo, hi+1ns) and may round by
					// a nanosecond either way.
					require.GreaterOrEqual(t, d, lo-time.Nanosecond, "attempt %d", n+1)
					require.LessOrEqual(t, d, hi+time.Nanosecond, "attempt %d", n+1)
					low = low || d < lo+quarter
					high = high || d > hi-quarter
				}
				require.True(t, low && high, "attempt %d: draws cover [%v, %v]", n+1, lo, hi)
			}
		})
	}
}

func TestReconnect(t *testing.T) {
	errDown := errors.New("stream broken")
	tests := []struct {
		name string
		// progress[i] is what session i reports; the test stops after
		// the last one.
		progress []bool
		sessErr  error
		// want is the delay schedule's attempt number behind each wait.
		want []int
	}{
		{"failures back off", []bool{false, false, false, false}, errDown, []int{1, 2, 3}},
		{"progress resets the backoff", []bool{false, false, true, false, true}, errDown, []int{1, 2, 1, 2}},
		{"a session ending without error is reconnected too", []bool{false, false, false}, nil, []int{1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			b := &countingBackOff{}
			sessions := 0
			var notified []error
			retry.Reconnect(ctx, b, func(context.Context) (bool, error) {
				p := tt.progress[sessions]
				sessions++
				if sessions == len(tt.progress) {
					cancel()
				}
				return p, tt.sessErr
			}, func(err error, d time.Duration) {
				notified = append(notified, err)
				require.Equal(t, time.Duration(b.n)*time.Microsecond, d, "notify gets the delay about to be waited")
			})
			require.Equal(t, len(tt.progress), sessions)
			require.Equal(t, tt.want, b.attempts)
			require.Len(t, notified, len(tt.want))
			for _, err := range notified {
				require.Error(t, err)
				if tt.sessErr != nil {
					require.ErrorIs(t, err, tt.sessErr)
				}
			}
		})
	}
}

// TestReconnectStopsWaitingWhenCancelled: a cancelled context ends the
// wait at once, however long the delay.
func TestReconnectStopsWaitingWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		retry.Reconnect(ctx, backoff.NewConstantBackOff(time.Hour), func(context.Context) (bool, error) {
			close(started)
			return false, errors.New("down")
		}, func(error, time.Duration) {})
	}()
	<-started
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Reconnect kept waiting after its context ended")
	}
}

// countingBackOff returns n µs for its n-th delay since the last Reset
// and records n, so a test can tell which delay each wait used.
type countingBackOff struct {
	n        int
	attempts []int
}

func (c *countingBackOff) Reset() { c.n = 0 }

func (c *countingBackOff) NextBackOff() time.Duration {
	c.n++
	c.attempts = append(c.attempts, c.n)
	return time.Duration(c.n) * time.Microsecond
}
