package quota_test

import (
	"context"
	"strings"
	"sync"
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

// budgetContract: two replicas sharing Redis enforce one monthly budget
// per tenant: tokens charged through one key on one replica exhaust the
// tenant's budget for every key of the tenant on the other replica (issue
// 10, reproduction 3: a fresh key does not escape a spent tenant budget),
// and one key budget across replicas. Every counter is under its tenant's
// hash tag (ADR 0095). A Redis error fails the test (no fallback).
func budgetContract(t *testing.T, client redis.UniversalClient) {
	t.Helper()
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
	requireCode(t, err, "insufficient_quota")
	require.Equal(t, 1, seeds, "seeded once for all replicas")
	// Another tenant is unaffected; its key budget is one across replicas.
	u, ul := quota.Subject{Tenant: "u", Key: "k"}, quota.Limits{TenantBudget: 1000, KeyBudget: 50}
	_, err = b.Check(t.Context(), u, ul)
	require.NoError(t, err)
	b.Charge(t.Context(), u, ul, 50)
	_, err = a.Check(t.Context(), u, ul)
	requireCode(t, err, "insufficient_quota")

	// Both of a call's counters are charged in one script call (they share
	// the tenant's hash tag).
	scripts := &scriptCounter{}
	client.AddHook(scripts)
	b.Charge(t.Context(), u, ul, 1)
	require.EqualValues(t, 1, scripts.n.Load(), "the key's and the tenant's counter in one round trip")
	// The tenant's counter has both charges (51): a budget of 51 is spent,
	// one of 52 is not.
	_, err = a.Check(t.Context(), quota.Subject{Tenant: "u", Key: "other"}, quota.Limits{TenantBudget: 51})
	requireCode(t, err, "insufficient_quota")
	_, err = a.Check(t.Context(), quota.Subject{Tenant: "u", Key: "other"}, quota.Limits{TenantBudget: 52})
	require.NoError(t, err)

	keys := allKeys(t, client, quota.RedisMonthPrefix+"*")
	require.Len(t, keys, 3, "t's and u's tenant counters, u's key counter")
	for _, k := range keys {
		require.True(t, strings.HasPrefix(k, quota.RedisMonthPrefix+"{t}") || strings.HasPrefix(k, quota.RedisMonthPrefix+"{u}"), "%q carries its tenant's hash tag", k)
		ttl, err := client.TTL(t.Context(), k).Result()
		require.NoError(t, err)
		require.Greater(t, ttl, 24*time.Hour, "kept until a day past the month")
	}
}

func requireCode(t *testing.T, err error, code string) {
	t.Helper()
	ae, ok := apierr.As(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, code, ae.Code)
}

// allKeys lists the keys matching pattern on one Redis, or on every master
// of a cluster.
func allKeys(t *testing.T, client redis.UniversalClient, pattern string) []string {
	t.Helper()
	c, ok := client.(*redis.ClusterClient)
	if !ok {
		keys, err := client.Keys(t.Context(), pattern).Result()
		require.NoError(t, err)
		return keys
	}
	var mu sync.Mutex
	var keys []string
	require.NoError(t, c.ForEachMaster(t.Context(), func(ctx context.Context, node *redis.Client) error {
		ks, err := node.Keys(ctx, pattern).Result()
		mu.Lock()
		keys = append(keys, ks...)
		mu.Unlock()
		return err
	}))
	return keys
}

func TestRedisSharedBudgets(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: redistest.Start(t)})
	t.Cleanup(func() { _ = client.Close() })
	budgetContract(t, client)
}

// The same on a real Redis Cluster of three masters (ADR 0095): each
// counter is one key, so no script crosses slots; the hash tag keeps a
// tenant's counters in its buckets' slot.
func TestRedisClusterSharedBudgets(t *testing.T) {
	client := redistest.ClusterClient(t, 3)
	budgetContract(t, client)
}
