package quota

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// MonthCounters keep the monthly token counters in one place for every
// replica, so a budget (per key and per tenant) is one budget however many
// replicas serve the tenant. RedisBuckets implements it; SetShared picks it
// up from the Buckets it is given.
type MonthCounters interface {
	// MonthUsed returns the counter id of tenant's month starting at
	// start; ok is false while no replica has seeded it.
	MonthUsed(ctx context.Context, tenant, id string, start time.Time) (used int64, ok bool, err error)
	// SeedMonth sets the counter to used unless a replica already has, and
	// returns the counter.
	SeedMonth(ctx context.Context, tenant, id string, start time.Time, used int64) (int64, error)
	// AddMonth adds tokens to each of tenant's counters ids that has been
	// seeded (an unseeded counter is seeded from the usage store, which
	// holds them), all in one call.
	AddMonth(ctx context.Context, tenant string, ids []string, start time.Time, tokens int64) error
}

// RedisMonthPrefix prefixes the monthly counter keys.
const RedisMonthPrefix = "rampart:inference:month:"

var (
	monthGetScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v then return v end
return ''
`)
	monthSeedScript = redis.NewScript(`
redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2])
return redis.call('GET', KEYS[1])
`)
	// monthAddScript charges every seeded counter of KEYS: one round trip
	// for a call's key and tenant counters, which share the tenant's hash
	// tag (one Redis Cluster slot).
	monthAddScript = redis.NewScript(`
for i = 1, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    redis.call('INCRBY', KEYS[i], ARGV[1])
  end
end
return ''
`)
)

// monthKey is the Redis key of counter id of tenant's month: under the
// tenant's hash tag, like its TPM buckets, so a Redis Cluster keeps every
// counter of a tenant in one slot and a script may update several at once
// (ADR 0095).
func monthKey(tenant, id string, start time.Time) string {
	return RedisMonthPrefix + "{" + tenant + "}" + id + "\x00" + start.Format("2006-01")
}

// monthTTL keeps a counter a day past its month.
func monthTTL(start time.Time, now time.Time) int64 {
	end := start.AddDate(0, 1, 1)
	if s := int64(end.Sub(now) / time.Second); s > 60 {
		return s
	}
	return 60
}

func (r *RedisBuckets) script(ctx context.Context, s *redis.Script, key string, args ...any) (string, error) {
	return r.scriptKeys(ctx, s, []string{key}, args...)
}

func (r *RedisBuckets) scriptKeys(ctx context.Context, s *redis.Script, keys []string, args ...any) (string, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), redisTimeout)
	defer cancel()
	v, err := s.Run(ctx, r.client, keys, args...).Text()
	if err != nil {
		return "", fmt.Errorf("quota: redis month counter: %w", err)
	}
	return v, nil
}

func parseCount(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("quota: redis month counter %q: %w", s, err)
	}
	return n, nil
}

// MonthUsed implements MonthCounters.
func (r *RedisBuckets) MonthUsed(ctx context.Context, tenant, id string, start time.Time) (int64, bool, error) {
	v, err := r.script(ctx, monthGetScript, monthKey(tenant, id, start))
	if err != nil || v == "" {
		return 0, false, err
	}
	n, err := parseCount(v)
	return n, err == nil, err
}

// SeedMonth implements MonthCounters.
func (r *RedisBuckets) SeedMonth(ctx context.Context, tenant, id string, start time.Time, used int64) (int64, error) {
	v, err := r.script(ctx, monthSeedScript, monthKey(tenant, id, start), used, monthTTL(start, time.Now()))
	if err != nil {
		return 0, err
	}
	return parseCount(v)
}

// AddMonth implements MonthCounters.
func (r *RedisBuckets) AddMonth(ctx context.Context, tenant string, ids []string, start time.Time, tokens int64) error {
	if len(ids) == 0 {
		return nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = monthKey(tenant, id, start)
	}
	_, err := r.scriptKeys(ctx, monthAddScript, keys, tokens)
	return err
}
