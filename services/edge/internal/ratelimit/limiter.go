package ratelimit

import (
	"context"
	"time"
)

// Limit is a rate: Rate events per Period, with bursts of up to Burst.
type Limit struct {
	Rate   int
	Period time.Duration
	Burst  int
}

// PerMinute is n requests per minute with a burst of n.
func PerMinute(n int) Limit { return Limit{Rate: n, Period: time.Minute, Burst: n} }

// IsZero reports an unlimited (unset) limit.
func (l Limit) IsZero() bool { return l.Rate <= 0 || l.Period <= 0 }

// Result is one decision.
type Result struct {
	Allowed bool
	Limit   Limit
	// Remaining requests that could be made right now.
	Remaining int
	// RetryAfter is how long until the next request would be allowed
	// (set only when denied).
	RetryAfter time.Duration
	// ResetAfter is how long until the bucket is full again.
	ResetAfter time.Duration
}

// Limiter decides whether one more request under key fits limit.
type Limiter interface {
	Allow(ctx context.Context, key string, limit Limit) (Result, error)
}
