package app

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/redisconf"
	"github.com/rampart-platform/rampart/pkg/store/redistest"
	"github.com/rampart-platform/rampart/services/edge/internal/config"
	"github.com/rampart-platform/rampart/services/edge/internal/ratelimit"
)

// TestLimiterOnRedisCluster: RAMPART_REDIS_CLUSTER_URL (the nodes in
// go-redis's cluster URL form) makes the edge's limiter charge a request's
// key, pool and tenant buckets on a real Redis Cluster of three masters in
// one script call, without falling back to memory (ADR 0086).
func TestLimiterOnRedisCluster(t *testing.T) {
	addrs := redistest.StartCluster(t, 3)
	cfg := config.Config{Settings: redisconf.Settings{RedisClusterURL: "redis://" + addrs[0] + "?addr=" + strings.Join(addrs[1:], "&addr=")}}
	l, _, closeLimiter, err := newLimiter(cfg, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(closeLimiter)
	r, ok := l.(*ratelimit.Redis)
	require.True(t, ok, "a Redis limiter, %T", l)
	var ls ratelimit.Levels
	ls.SetTag("t_cluster")
	ls.Add("key", "k:KeYoNcLuStEr", ratelimit.PerMinute(2))
	ls.Add("pool", "k:PoOlOnClUsTe", ratelimit.PerMinute(2))
	ls.Add("tenant", "t:t_cluster", ratelimit.PerMinute(100))
	for i, want := range []int{-1, -1, 0} {
		d, err := r.AllowLevels(t.Context(), ls)
		require.NoError(t, err)
		require.Equal(t, want, d.Refused, "request %d", i)
	}
	require.Zero(t, r.Failures(), "every decision made on the cluster")
}
