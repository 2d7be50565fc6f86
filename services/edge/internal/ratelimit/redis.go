package ratelimit

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a GCRA limiter whose state lives in Redis, so every edge replica
// pointed at the same Redis shares one limit. Redis's clock is used, not
// the replicas'. On a Redis error the decision falls back to an in-memory
// limiter and the failure is logged (at most every 10 s).
type Redis struct {
	rdb      redis.Scripter
	prefix   string
	fallback Limiter
	log      *slog.Logger
	lastLog  atomic.Int64
	failures atomic.Int64
}

// NewRedis returns a limiter over rdb: a single Redis (*redis.Client) or a
// Redis Cluster (*redis.ClusterClient; a request's buckets share its
// tenant's hash tag, so they are in one slot). Keys are namespaced under
// prefix.
func NewRedis(rdb redis.Scripter, prefix string, fallback Limiter, log *slog.Logger) *Redis {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if fallback == nil {
		fallback = NewMemory(nil)
	}
	return &Redis{rdb: rdb, prefix: prefix, fallback: fallback, log: log}
}

// Failures returns how many decisions fell back to memory.
func (r *Redis) Failures() int64 { return r.failures.Load() }

// redisKeyPrefix is redis_rate's, which kept these buckets before ADR
// 0076 (the same TAT encoding). Since ADR 0086 a bucket's key carries its
// tenant's hash tag after the prefix: "rate:<prefix>{<tenant>}k:<key id>".
const redisKeyPrefix = "rate:"

// levelsScript is redis_rate's GCRA script (github.com/go-redis/redis_rate,
// BSD-2-Clause, after rwz/redis-gcra; origin and license in
// THIRD_PARTY_NOTICES.md beside this file) over several buckets at once:
// KEYS are the buckets, ARGV three per bucket (burst, rate, period in
// seconds). It decides every bucket first and writes only when
// all admit the request, so one round trip charges all or none. It
// returns {allowed, level index (0-based: the refusing one, or the one
// with the fewest remaining), remaining, retry_after, reset_after}, the
// last two in seconds as strings. The keys share one hash tag (the
// tenant's), so on a Redis Cluster they are in one slot, as a script's
// keys must be.
var levelsScript = redis.NewScript(`
redis.replicate_commands()
local now = redis.call("TIME")
now = (now[1] - 1483228800) + (now[2] / 1000000)
local new_tats = {}
local best, best_remaining, best_reset = 0, 0, 0
for i = 1, #KEYS do
  local burst = tonumber(ARGV[3 * i - 2])
  local interval = tonumber(ARGV[3 * i]) / tonumber(ARGV[3 * i - 1])
  local tat = redis.call("GET", KEYS[i])
  if tat then tat = math.max(tonumber(tat), now) else tat = now end
  local new_tat = tat + interval
  local diff = now - (new_tat - interval * burst)
  if diff < 0 then
    return {0, i - 1, 0, tostring(-diff), tostring(tat - now)}
  end
  new_tats[i] = new_tat
  local remaining = math.floor(diff / interval)
  if best == 0 or remaining < best_remaining then
    best, best_remaining, best_reset = i, remaining, new_tat - now
  end
end
for i = 1, #KEYS do
  redis.call("SET", KEYS[i], new_tats[i], "EX", math.ceil(new_tats[i] - now))
end
return {1, best - 1, best_remaining, "-1", tostring(best_reset)}
`)

// Allow decides one request on the single bucket key.
func (r *Redis) Allow(ctx context.Context, key string, l Limit) (Result, error) {
	var ls Levels
	ls.Add("key", key, l)
	d, err := r.AllowLevels(ctx, ls)
	return d.Result, err
}

// AllowLevels implements Limiter in one script call.
func (r *Redis) AllowLevels(ctx context.Context, ls Levels) (Decision, error) {
	if ls.n == 0 {
		return unlimited, nil
	}
	keys := make([]string, ls.n)
	args := make([]any, 0, 3*ls.n)
	for i, lv := range ls.l[:ls.n] {
		if ls.tag == "" { // Allow's single bucket: no slot to share
			keys[i] = redisKeyPrefix + r.prefix + lv.Key
		} else {
			keys[i] = redisKeyPrefix + r.prefix + "{" + ls.tag + "}" + lv.Key
		}
		args = append(args, max(lv.Limit.Burst, 1), lv.Limit.Rate, lv.Limit.Period.Seconds())
	}
	v, err := levelsScript.Run(ctx, r.rdb, keys, args...).Slice()
	if err == nil {
		var d Decision
		if d, err = decodeLevels(v, ls); err == nil {
			return d, nil
		}
	}
	r.failures.Add(1)
	now := time.Now().UnixNano()
	if last := r.lastLog.Load(); now-last > int64(10*time.Second) && r.lastLog.CompareAndSwap(last, now) {
		r.log.Warn("redis rate limiter failed; limiting in memory", slog.String("error", err.Error()))
	}
	return r.fallback.AllowLevels(ctx, ls)
}

// decodeLevels reads levelsScript's reply.
func decodeLevels(v []any, ls Levels) (Decision, error) {
	if len(v) != 5 {
		return Decision{}, fmt.Errorf("ratelimit: script reply of %d values", len(v))
	}
	allowed, _ := v[0].(int64)
	i, _ := v[1].(int64)
	remaining, _ := v[2].(int64)
	retry, err1 := seconds(v[3])
	reset, err2 := seconds(v[4])
	if i < 0 || i >= int64(ls.n) || err1 != nil || err2 != nil {
		return Decision{}, fmt.Errorf("ratelimit: bad script reply %v", v)
	}
	res := Result{Allowed: allowed == 1, Limit: ls.l[i].Limit, Remaining: int(remaining), RetryAfter: retry, ResetAfter: reset}
	if !res.Allowed {
		return Decision{Refused: int(i), Result: res}, nil
	}
	return Decision{Refused: -1, Result: res}, nil
}

// seconds reads a duration the script returned as a string of seconds.
func seconds(v any) (time.Duration, error) {
	s, _ := v.(string)
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("ratelimit: duration %q: %w", s, err)
	}
	if f < 0 {
		return -1, nil
	}
	return time.Duration(f * float64(time.Second)), nil
}
