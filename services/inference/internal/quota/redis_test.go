package quota_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/store/redistest"
	"github.com/rampart-platform/rampart/services/inference/internal/apierr"
	"github.com/rampart-platform/rampart/services/inference/internal/quota"
)

// Two replicas sharing Redis enforce one TPM limit: tokens charged on one
// are refused on the other. Needs redis-server (apt-get install redis-server).
func TestRedisSharedTPM(t *testing.T) {
	addr := redistest.Start(t)
	client := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = client.Close() })

	replica := func() *quota.Enforcer {
		e := quota.New(nil)
		e.SetShared(quota.NewRedisBuckets(client), func(err error) { t.Errorf("redis: %v", err) })
		return e
	}
	a, b := replica(), replica()
	s, l := quota.Subject{Tenant: "t", Key: "k"}, quota.Limits{KeyTPM: 1000, TenantTPM: 5000}

	st, err := a.Check(t.Context(), s, l)
	require.NoError(t, err)
	require.Equal(t, int64(1000), st.LimitTokens)
	a.Charge(t.Context(), s, l, 1500) // into debt on replica a

	_, err = b.Check(t.Context(), s, l)
	ae, ok := apierr.As(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, "rate_limit_exceeded", ae.Code)
	require.Equal(t, "tokens", ae.Type)
	require.Greater(t, ae.RetryAfter.Seconds(), 29.0) // ~501 tokens at 1000/min

	// Another key of the tenant still has its own bucket; the tenant's
	// bucket was charged too.
	_, err = b.Check(t.Context(), quota.Subject{Tenant: "t", Key: "k2"}, l)
	require.NoError(t, err)
	st, err = b.Check(t.Context(), quota.Subject{Tenant: "t", Key: "k2"}, quota.Limits{TenantTPM: 5000})
	require.NoError(t, err)
	require.Equal(t, int64(5000), st.LimitTokens)
	require.Less(t, st.RemainingTokens, int64(3600))
	keys, err := client.Keys(t.Context(), quota.RedisPrefix+"*").Result()
	require.NoError(t, err)
	require.Len(t, keys, 3)
}

// With Redis gone, each replica falls back to its own buckets and reports
// the failure; requests are not refused because of it.
func TestRedisDownFallsBack(t *testing.T) {
	addr := redistest.Start(t)
	client := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	require.NoError(t, client.Close())
	var failures int
	e := quota.New(nil)
	e.SetShared(quota.NewRedisBuckets(client), func(error) { failures++ })
	s, l := quota.Subject{Tenant: "t", Key: "k"}, quota.Limits{KeyTPM: 100}
	_, err := e.Check(t.Context(), s, l)
	require.NoError(t, err)
	e.Charge(t.Context(), s, l, 150)
	_, err = e.Check(t.Context(), s, l)
	require.Error(t, err, "the local bucket still limits")
	require.Equal(t, 3, failures)
}

// Two replicas sharing Redis enforce one monthly budget per tenant: tokens
// charged through one key on one replica exhaust the tenant's budget for
// every key of the tenant on the other replica (issue 10, reproduction 3:
// a fresh key does not escape a spent tenant budget).
func TestRedisSharedTenantBudget(t *testing.T) {
	addr := redistest.Start(t)
	client := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = client.Close() })
	seeds := 0
	replica := func() *quota.Enforcer {
		e := quota.New(func(_ context.Context, tenant, key string, _ time.Time) (int64, error) {
			seeds++
			if key == "" && tenant == "t" {
				return 900, nil // already used this month, per the usage store
			}
			return 0, nil
		})
		e.SetShared(quota.NewRedisBuckets(client), func(err error) { t.Errorf("redis: %v", err) })
		return e
	}
	a, b := replica(), replica()
	l := quota.Limits{TenantBudget: 1000}
	_, err := a.Check(t.Context(), quota.Subject{Tenant: "t", Key: "k1"}, l)
	require.NoError(t, err)
	a.Charge(t.Context(), quota.Subject{Tenant: "t", Key: "k1"}, l, 100)

	// A brand-new key, on the other replica, with no key budget at all.
	_, err = b.Check(t.Context(), quota.Subject{Tenant: "t", Key: "fresh"}, l)
	ae, ok := apierr.As(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, "insufficient_quota", ae.Code)
	require.Equal(t, 1, seeds, "seeded once for all replicas")
	// Another tenant is unaffected.
	_, err = b.Check(t.Context(), quota.Subject{Tenant: "u", Key: "k"}, l)
	require.NoError(t, err)
	keys, err := client.Keys(t.Context(), quota.RedisMonthPrefix+"*").Result()
	require.NoError(t, err)
	require.Len(t, keys, 2)
	ttl, err := client.TTL(t.Context(), keys[0]).Result()
	require.NoError(t, err)
	require.Greater(t, ttl, 24*time.Hour, "kept until a day past the month")
}
