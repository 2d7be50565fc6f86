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

// bucketScript refills and optionally spends from every bucket of a call
// atomically (KEYS: the buckets; ARGV: the tokens to spend, then each
// bucket's rate), with Redis' clock so replicas with skewed clocks agree:
// one round trip however many buckets (ADR 0076). The keys share the
// call's tenant as their hash tag ("<prefix>{<tenant>}<id>", ADR 0086), so
// on a Redis Cluster they are in the one slot a script needs. It returns each level as
// a string (Lua numbers become integers in replies). Idle buckets expire
// once they would be full again (plus a minute).
var bucketScript = redis.NewScript(`
local spend = tonumber(ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
for i = 1, #KEYS do
  local rate = tonumber(ARGV[i + 1])
  local v = redis.call('HMGET', KEYS[i], 'l', 't', 'r')
  local level = rate
  if v[1] and tonumber(v[3]) == rate then
    level = math.min(rate, tonumber(v[1]) + (now - tonumber(v[2])) * rate / 60000)
  end
  level = level - spend
  redis.call('HSET', KEYS[i], 'l', tostring(level), 't', tostring(now), 'r', tostring(rate))
  redis.call('PEXPIRE', KEYS[i], math.ceil((rate - level) * 60000 / rate) + 60000)
  out[i] = tostring(level)
end
return out
`)

// RedisBuckets keeps TPM buckets in Redis, shared by every replica.
type RedisBuckets struct {
	client redis.Scripter
}

// NewRedisBuckets returns buckets stored through client.
func NewRedisBuckets(client redis.Scripter) *RedisBuckets { return &RedisBuckets{client: client} }

func (r *RedisBuckets) run(ctx context.Context, d Draw, tokens int64) ([MaxBuckets]float64, error) {
	var lv [MaxBuckets]float64
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), redisTimeout)
	defer cancel()
	keys := make([]string, d.N)
	args := make([]any, 1, 1+d.N)
	args[0] = tokens
	for i := range d.N {
		keys[i] = RedisPrefix + "{" + d.Tag + "}" + d.ID[i]
		args = append(args, d.Rate[i])
	}
	out, err := bucketScript.Run(ctx, r.client, keys, args...).StringSlice()
	if err != nil {
		return lv, fmt.Errorf("quota: redis bucket: %w", err)
	}
	if len(out) != d.N {
		return lv, fmt.Errorf("quota: redis bucket: %d levels for %d buckets", len(out), d.N)
	}
	for i, s := range out {
		if lv[i], err = strconv.ParseFloat(s, 64); err != nil {
			return lv, fmt.Errorf("quota: redis bucket level %q: %w", s, err)
		}
	}
	return lv, nil
}

// Levels implements Buckets.
func (r *RedisBuckets) Levels(ctx context.Context, d Draw) ([MaxBuckets]float64, error) {
	return r.run(ctx, d, 0)
}

// Spend implements Buckets.
func (r *RedisBuckets) Spend(ctx context.Context, d Draw, tokens int64) error {
	_, err := r.run(ctx, d, tokens)
	return err
}
