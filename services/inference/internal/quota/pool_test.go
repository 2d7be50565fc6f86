package quota_test

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/store/redistest"
	"github.com/rampart-platform/rampart/services/inference/internal/apierr"
	"github.com/rampart-platform/rampart/services/inference/internal/quota"
)

// poolContract (ADR 0076): keys minted from a key limited to 1000 TPM
// draw from that key's own bucket as well as theirs, so together they get
// 1000 tokens a minute, not 1000 each. On the previous code every minted
// key had a full bucket of its own.
func poolContract(t *testing.T, replicas []*quota.Enforcer) {
	t.Helper()
	ctx := t.Context()
	first := quota.Subject{Tenant: "t", Key: "first"}
	firstLimits := quota.Limits{KeyTPM: 1000}
	minted := func(key string) (quota.Subject, quota.Limits) {
		return quota.Subject{Tenant: "t", Key: key}, inPools(quota.Limits{KeyTPM: 1000}, quota.Pool{Key: "first", TPM: 1000})
	}
	on := func(i int) *quota.Enforcer { return replicas[i%len(replicas)] }

	for i, key := range []string{"m1", "m2", "m3"} {
		s, l := minted(key)
		_, err := on(i).Check(ctx, s, l)
		require.NoError(t, err, "%s: the pool has tokens left", key)
		on(i).Charge(ctx, s, l, 400)
	}
	for i, tt := range []struct {
		name string
		s    quota.Subject
		l    quota.Limits
		want string // "" admitted, else the refusal's wording
	}{
		{"a minted key with 600 tokens left of its own: the pool is spent", quota.Subject{Tenant: "t", Key: "m1"}, inPools(quota.Limits{KeyTPM: 1000}, quota.Pool{Key: "first", TPM: 1000}), "minted from the same limited key"},
		{"a fresh minted key", quota.Subject{Tenant: "t", Key: "m4"}, inPools(quota.Limits{KeyTPM: 1000}, quota.Pool{Key: "first", TPM: 1000}), "minted from the same limited key"},
		{"the pool's first key: its own bucket is the pool's", first, firstLimits, "this API key"},
		{"a key of another pool", quota.Subject{Tenant: "t", Key: "o1"}, inPools(quota.Limits{KeyTPM: 1000}, quota.Pool{Key: "other", TPM: 1000}), ""},
		{"a key in no pool", quota.Subject{Tenant: "t", Key: "n1"}, quota.Limits{KeyTPM: 1000}, ""},
		{"the same pool key in another tenant", quota.Subject{Tenant: "u", Key: "m1"}, inPools(quota.Limits{KeyTPM: 1000}, quota.Pool{Key: "first", TPM: 1000}), ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := on(i).Check(ctx, tt.s, tt.l)
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			ae, ok := apierr.As(err)
			require.True(t, ok, "%v", err)
			require.Equal(t, "rate_limit_exceeded", ae.Code)
			require.Equal(t, "tokens", ae.Type)
			require.Contains(t, ae.Message, tt.want)
			require.Contains(t, ae.Message, "limit 1000")
			require.Positive(t, ae.RetryAfter)
		})
	}
}

// inPools is l with pools added, outermost first.
func inPools(l quota.Limits, pools ...quota.Pool) quota.Limits {
	for _, p := range pools {
		l.AddPool(p.Key, p.TPM)
	}
	return l
}

// nestContract (ADR 0086): key A (1000 TPM) mints B (300 TPM, keys:write),
// and B mints keys; theirs draw from A's bucket and B's, so together they
// get B's 300 (on the code of ADR 0076, A's pool alone: A's 1000), and A's
// other keys share what is left of A's.
func nestContract(t *testing.T, replicas []*quota.Enforcer) {
	t.Helper()
	ctx := t.Context()
	on := func(i int) *quota.Enforcer { return replicas[i%len(replicas)] }
	a, b := quota.Pool{Key: "keyA", TPM: 1000}, quota.Pool{Key: "keyB", TPM: 300}
	underB := func(key string) (quota.Subject, quota.Limits) {
		return quota.Subject{Tenant: "n", Key: key}, inPools(quota.Limits{KeyTPM: 300, TenantTPM: 100000}, a, b)
	}
	sibling, siblingLimits := quota.Subject{Tenant: "n", Key: "sibling"}, inPools(quota.Limits{KeyTPM: 1000}, a)
	refused := func(err error, wording, limit string) {
		t.Helper()
		ae, ok := apierr.As(err)
		require.True(t, ok, "%v", err)
		require.Equal(t, "rate_limit_exceeded", ae.Code)
		require.Contains(t, ae.Message, wording)
		require.Contains(t, ae.Message, limit)
	}

	s, l := underB("u1")
	_, err := on(0).Check(ctx, s, l)
	require.NoError(t, err)
	on(0).Charge(ctx, s, l, 300) // B's bucket spent, A's at 700
	s, l = underB("u2")
	_, err = on(1).Check(ctx, s, l)
	refused(err, "minted from the same limited key", "limit 300")
	_, err = on(1).Check(ctx, sibling, siblingLimits)
	require.NoError(t, err, "A's other key: 700 of A's 1000 are left")
	on(1).Charge(ctx, sibling, siblingLimits, 700)
	s, l = underB("u3")
	_, err = on(0).Check(ctx, s, l)
	refused(err, "minted from the same limited key", "limit 1000") // A's, the outermost, is checked first
}

func TestNarrowerTPMLimitsNest(t *testing.T) {
	now := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	e := quota.New(nil)
	e.SetClock(func() time.Time { return now })
	nestContract(t, []*quota.Enforcer{e})
}

// Two replicas sharing Redis; a call's key, pools and tenant buckets are
// in one script call, their keys under the tenant's hash tag.
func TestRedisNarrowerTPMLimitsNest(t *testing.T) {
	addr := redistest.Start(t)
	client := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = client.Close() })
	replica := func() *quota.Enforcer {
		e := quota.New(nil)
		e.SetShared(quota.NewRedisBuckets(client), func(err error) { t.Errorf("redis: %v", err) })
		return e
	}
	nestContract(t, []*quota.Enforcer{replica(), replica()})
	keys, err := client.Keys(t.Context(), "*").Result()
	require.NoError(t, err)
	require.Len(t, keys, 7, "u1, u2, u3, sibling, A, B and the tenant")
	for _, k := range keys {
		require.True(t, strings.HasPrefix(k, quota.RedisPrefix+"{n}"), "%q carries the tenant's hash tag", k)
	}
}

// The same on a real Redis Cluster of three masters: the call's buckets
// share the tenant's hash tag, so the one script call finds them in one
// slot (ADR 0086); on error the test fails (no fallback to memory).
func TestRedisClusterNarrowerTPMLimitsNest(t *testing.T) {
	client := redistest.ClusterClient(t, 3)
	replica := func() *quota.Enforcer {
		e := quota.New(nil)
		e.SetShared(quota.NewRedisBuckets(client), func(err error) { t.Errorf("redis cluster: %v", err) })
		return e
	}
	nestContract(t, []*quota.Enforcer{replica(), replica()})
}

func TestPooledKeysShareTheirTPM(t *testing.T) {
	now := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	e := quota.New(nil)
	e.SetClock(func() time.Time { return now })
	poolContract(t, []*quota.Enforcer{e})
}

// Two replicas sharing Redis hold one pool bucket; each call is one
// script call (one round trip) whatever its number of buckets.
func TestRedisPooledKeysShareTheirTPM(t *testing.T) {
	addr := redistest.Start(t)
	client := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = client.Close() })
	replica := func() *quota.Enforcer {
		e := quota.New(nil)
		e.SetShared(quota.NewRedisBuckets(client), func(err error) { t.Errorf("redis: %v", err) })
		return e
	}
	poolContract(t, []*quota.Enforcer{replica(), replica()})
	scripts := &scriptCounter{}
	client.AddHook(scripts)
	_, err := replica().Check(t.Context(), quota.Subject{Tenant: "v", Key: "m1"}, inPools(quota.Limits{KeyTPM: 10, TenantTPM: 100}, quota.Pool{Key: "first", TPM: 10}))
	require.NoError(t, err)
	require.EqualValues(t, 1, scripts.n.Load(), "key, pool and tenant buckets in one round trip")
	keys, err := client.Keys(t.Context(), quota.RedisPrefix+"{t}k\x00t\x00first").Result()
	require.NoError(t, err)
	require.Len(t, keys, 1, "the pool's bucket is its first key's own")
}

// scriptCounter counts script calls (EVALSHA: Script.Run's first try).
type scriptCounter struct{ n atomic.Int64 }

func (*scriptCounter) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) { return next(ctx, network, addr) }
}

func (c *scriptCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == "evalsha" {
			c.n.Add(1)
		}
		return next(ctx, cmd)
	}
}

func (*scriptCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
