package ratelimit

import (
	"context"
	"time"

	"github.com/rampart-platform/rampart/pkg/principal"
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

// MaxLevels is how many buckets one request may be charged to: its key's,
// its key's nested rate pools' (ADR 0076, 0086) and its tenant's.
const MaxLevels = 2 + principal.MaxRatePools

// Level is one bucket a request is charged to.
type Level struct {
	// Name is the level in metrics and in the 429's message: "key",
	// "pool" or "tenant".
	Name string
	// Key is the bucket's limiter key ("k:<key id>", "t:<tenant id>").
	Key   string
	Limit Limit
}

// Levels are the buckets of one request. They are passed by value, so
// building them costs no allocation.
type Levels struct {
	n   int
	l   [MaxLevels]Level
	tag string
}

// SetTag sets the levels' hash tag, the tenant id: Redis keeps every
// bucket of a request under it ("{<tag>}"), so in a Redis Cluster they are
// in one hash slot and one script can charge them all (ADR 0086). The
// buckets of one request are always one tenant's.
func (ls *Levels) SetTag(tag string) { ls.tag = tag }

// Add appends a level. An unlimited one has no bucket and is skipped; so is
// any beyond MaxLevels.
func (ls *Levels) Add(name, key string, l Limit) {
	if l.IsZero() || ls.n == MaxLevels {
		return
	}
	ls.l[ls.n] = Level{Name: name, Key: key, Limit: l}
	ls.n++
}

// Len is the number of levels.
func (ls *Levels) Len() int { return ls.n }

// At returns level i.
func (ls *Levels) At(i int) Level { return ls.l[i] }

// Decision is the outcome of charging one request to its levels.
type Decision struct {
	// Refused is the index of the level that refused the request, or -1:
	// every level admitted it and each was charged.
	Refused int
	// Result is the refusing level's, or, when admitted, that of the level
	// with the fewest requests remaining (the one the headers report).
	Result Result
}

// Limiter charges requests to their buckets.
type Limiter interface {
	// AllowLevels charges one request to every level of ls, or, when any
	// of them has no room, to none: a request refused by one bucket (the
	// pool's, the tenant's) does not use up the others. With no levels
	// the request is admitted with Remaining -1.
	AllowLevels(ctx context.Context, ls Levels) (Decision, error)
}

// unlimited is the decision for a request without levels.
var unlimited = Decision{Refused: -1, Result: Result{Allowed: true, Remaining: -1}}

// gcra decides one request on a bucket whose theoretical arrival time is
// tat (0: none yet) at now, both in nanoseconds: the arithmetic of
// redis_rate's script. It returns the result and, when allowed, the
// bucket's new TAT.
func gcra(tat, now int64, l Limit) (Result, int64) {
	burst := max(l.Burst, 1)
	interval := max(int64(l.Period)/int64(l.Rate), 1)
	tat = max(tat, now)
	newTAT := tat + interval
	diff := now - (newTAT - interval*int64(burst))
	if diff < 0 {
		return Result{Allowed: false, Limit: l, Remaining: 0,
			RetryAfter: time.Duration(-diff), ResetAfter: time.Duration(tat - now)}, 0
	}
	return Result{Allowed: true, Limit: l, Remaining: int(diff / interval),
		RetryAfter: -1, ResetAfter: time.Duration(newTAT - now)}, newTAT
}
