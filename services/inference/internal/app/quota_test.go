package app

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/redisconf"
	"github.com/rampart-platform/rampart/pkg/store/redistest"
	"github.com/rampart-platform/rampart/services/inference/internal/config"
	"github.com/rampart-platform/rampart/services/inference/internal/quota"
)

// TestQuotaOnRedisCluster: RAMPART_REDIS_CLUSTER_URL makes two inference
// replicas (two conns, as two processes build them) share one TPM limit
// through a real Redis Cluster of three masters (ADR 0095): what one
// replica charges the other refuses, and the buckets are under the
// tenant's hash tag.
func TestQuotaOnRedisCluster(t *testing.T) {
	addrs := redistest.StartCluster(t, 3)
	url := "redis://" + addrs[0] + "?addr=" + strings.Join(addrs[1:], "&addr=")
	replica := func() *quota.Enforcer {
		c := &conns{ctx: t.Context(), cfg: &config.Config{Settings: redisconf.Settings{RedisClusterURL: url}}}
		t.Cleanup(func() {
			for _, cl := range c.closers {
				_ = cl()
			}
		})
		enf, err := c.quota(nil, nil, slog.New(slog.DiscardHandler))
		require.NoError(t, err)
		require.Len(t, c.closers, 1, "the cluster client is closed with the service")
		return enf
	}
	a, b := replica(), replica()
	s, l := quota.Subject{Tenant: "t_cluster", Key: "k1"}, quota.Limits{KeyTPM: 100, TenantTPM: 1000}
	_, err := a.Check(t.Context(), s, l)
	require.NoError(t, err)
	a.Charge(t.Context(), s, l, 150)
	_, err = b.Check(t.Context(), s, l)
	require.Error(t, err, "the other replica sees the spent bucket")

	cl := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	t.Cleanup(func() { _ = cl.Close() })
	var (
		mu    sync.Mutex
		found []string
	)
	require.NoError(t, cl.ForEachMaster(t.Context(), func(ctx context.Context, node *redis.Client) error {
		keys, err := node.Keys(ctx, quota.RedisPrefix+"*").Result()
		mu.Lock()
		defer mu.Unlock()
		found = append(found, keys...)
		return err
	}))
	require.Len(t, found, 2, "the key's and the tenant's bucket")
	for _, k := range found {
		require.True(t, strings.HasPrefix(k, quota.RedisPrefix+"{t_cluster}"), k)
	}
}
