package ratelimit

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// Redis is a GCRA limiter whose state lives in Redis (redis_rate), so every
// edge replica pointed at the same Redis shares one limit. Redis's clock is
// used, not the replicas'. On a Redis error the decision falls back to an
// in-memory limiter and the failure is logged (at most every 10 s).
type Redis struct {
	limiter  *redis_rate.Limiter
	prefix   string
	fallback Limiter
	log      *slog.Logger
	lastLog  atomic.Int64
	failures atomic.Int64
}

// NewRedis returns a limiter over rdb. Keys are namespaced under prefix.
func NewRedis(rdb *redis.Client, prefix string, fallback Limiter, log *slog.Logger) *Redis {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if fallback == nil {
		fallback = NewMemory(nil)
	}
	return &Redis{limiter: redis_rate.NewLimiter(rdb), prefix: prefix, fallback: fallback, log: log}
}

// Failures returns how many decisions fell back to memory.
func (r *Redis) Failures() int64 { return r.failures.Load() }

// Allow implements Limiter.
func (r *Redis) Allow(ctx context.Context, key string, l Limit) (Result, error) {
	if l.IsZero() {
		return Result{Allowed: true, Limit: l, Remaining: -1}, nil
	}
	res, err := r.limiter.Allow(ctx, r.prefix+key, redis_rate.Limit{Rate: l.Rate, Period: l.Period, Burst: max(l.Burst, 1)})
	if err != nil {
		r.failures.Add(1)
		now := time.Now().UnixNano()
		if last := r.lastLog.Load(); now-last > int64(10*time.Second) && r.lastLog.CompareAndSwap(last, now) {
			r.log.Warn("redis rate limiter failed; limiting in memory", slog.String("error", err.Error()))
		}
		return r.fallback.Allow(ctx, key, l)
	}
	return Result{
		Allowed: res.Allowed > 0, Limit: l, Remaining: res.Remaining,
		RetryAfter: res.RetryAfter, ResetAfter: res.ResetAfter,
	}, nil
}
