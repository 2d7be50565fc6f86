package quota

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisPrefix prefixes the bucket keys.
const RedisPrefix = "rampart:inference:tpm:"

// redisTimeout bounds one bucket operation; on timeout the replica's own
// buckets decide (see Enforcer.SetShared).
const redisTimeout = 250 * time.Millisecond

// bucketScript refills and optionally spends from one bucket atomically,
// with Redis' clock so replicas with skewed clocks agree. It returns the
// level as a string (Lua numbers become integers in replies). Idle buckets
// expire once they would be full again (plus a minute).
var bucketScript = redis.NewScript(`
local rate = tonumber(ARGV[1])
local spend = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local v = redis.call('HMGET', KEYS[1], 'l', 't', 'r')
local level = rate
if v[1] and tonumber(v[3]) == rate then
  level = math.min(rate, tonumber(v[1]) + (now - tonumber(v[2])) * rate / 60000)
end
level = level - spend
redis.call('HSET', KEYS[1], 'l', tostring(level), 't', tostring(now), 'r', tostring(rate))
redis.call('PEXPIRE', KEYS[1], math.ceil((rate - level) * 60000 / rate) + 60000)
return tostring(level)
`)

// RedisBuckets keeps TPM buckets in Redis, shared by every replica.
type RedisBuckets struct {
	client redis.Scripter
}

// NewRedisBuckets returns buckets stored through client.
func NewRedisBuckets(client redis.Scripter) *RedisBuckets { return &RedisBuckets{client: client} }

func (r *RedisBuckets) run(ctx context.Context, id string, rate, tokens int64) (float64, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), redisTimeout)
	defer cancel()
	s, err := bucketScript.Run(ctx, r.client, []string{RedisPrefix + id}, rate, tokens).Text()
	if err != nil {
		return 0, fmt.Errorf("quota: redis bucket: %w", err)
	}
	lv, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("quota: redis bucket level %q: %w", s, err)
	}
	return lv, nil
}

// Level implements Buckets.
func (r *RedisBuckets) Level(ctx context.Context, id string, rate int64) (float64, error) {
	return r.run(ctx, id, rate, 0)
}

// Spend implements Buckets.
func (r *RedisBuckets) Spend(ctx context.Context, id string, rate, tokens int64) error {
	_, err := r.run(ctx, id, rate, tokens)
	return err
}
