package redisconf_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/config"
	"github.com/rampart-platform/rampart/pkg/redisconf"
	"github.com/rampart-platform/rampart/pkg/store/redistest"
)

func TestErrors(t *testing.T) {
	for _, tt := range []struct {
		name   string
		s      redisconf.Settings
		fields []string // the settings reported, in order
	}{
		{name: "neither: limits in memory", s: redisconf.Settings{}},
		{name: "one server", s: redisconf.Settings{RedisURL: "redis://:pw@r:6379/0"}},
		{name: "one server over TLS", s: redisconf.Settings{RedisURL: "rediss://r:6380"}},
		{name: "a unix socket", s: redisconf.Settings{RedisURL: "unix:///run/redis.sock"}},
		{name: "a cluster", s: redisconf.Settings{RedisClusterURL: "redis://a:7000?addr=b:7001&addr=c:7002"}},
		{name: "not a redis URL", s: redisconf.Settings{RedisURL: "http://secret@x"}, fields: []string{"RedisURL"}},
		{name: "a cluster over a socket", s: redisconf.Settings{RedisClusterURL: "unix:///run/redis.sock"}, fields: []string{"RedisClusterURL"}},
		{name: "bad cluster URL", s: redisconf.Settings{RedisClusterURL: "http://secret@x"}, fields: []string{"RedisClusterURL"}},
		{name: "both", s: redisconf.Settings{RedisURL: "redis://r:6379", RedisClusterURL: "redis://a:7000"}, fields: []string{"RedisClusterURL"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			errs := tt.s.RedisErrors()
			var got []string
			for _, err := range errs {
				var fe *config.FieldError
				require.True(t, errors.As(err, &fe), "%v", err)
				got = append(got, fe.Field)
				require.NotContains(t, err.Error(), "secret", "a URL may hold a password: never quoted")
			}
			require.Equal(t, tt.fields, got)
			c, err := tt.s.RedisClient()
			if len(tt.fields) > 0 {
				require.Error(t, err)
				require.NotContains(t, err.Error(), "secret")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.s.RedisEnabled(), c != nil)
			if c != nil {
				_, cluster := c.(*redis.ClusterClient)
				require.Equal(t, tt.s.RedisCluster(), cluster)
				require.NoError(t, c.Close())
			}
		})
	}
}

// A cluster client from RAMPART_REDIS_CLUSTER_URL reaches every master of
// a real three-master cluster: keys in different slots are written and
// read through the one client.
func TestClientOnRealCluster(t *testing.T) {
	addrs := redistest.StartCluster(t, 3)
	s := redisconf.Settings{RedisClusterURL: "redis://" + addrs[0] + "?addr=" + strings.Join(addrs[1:], "&addr=")}
	c, err := s.RedisClient()
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	ctx := t.Context()
	for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		require.NoError(t, c.Set(ctx, k, k+"!", 0).Err())
		v, err := c.Get(ctx, k).Result()
		require.NoError(t, err)
		require.Equal(t, k+"!", v)
	}
	cc, ok := c.(*redis.ClusterClient)
	require.True(t, ok, "a cluster client, %T", c)
	var holding atomic.Int32
	require.NoError(t, cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
		n, err := node.DBSize(ctx).Result()
		if n > 0 {
			holding.Add(1)
		}
		return err
	}))
	require.EqualValues(t, 3, holding.Load(), "the keys spread over every master")
}
