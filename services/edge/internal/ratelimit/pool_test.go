package ratelimit_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/store/redistest"
	"github.com/rampart-platform/rampart/services/edge/internal/authn"
	"github.com/rampart-platform/rampart/services/edge/internal/ratelimit"
)

// levelsContract: a request is charged to all its levels or to none, and
// the decision names the refusing level (or, when admitted, reports the
// level with the fewest requests left).
func levelsContract(t *testing.T, l ratelimit.Limiter, advance func(time.Duration)) {
	t.Helper()
	ctx := t.Context()
	type lv struct {
		key string
		per int
	}
	levels := func(lvs ...lv) ratelimit.Levels {
		var ls ratelimit.Levels
		ls.SetTag("x") // the tenant, as the middleware sets it
		for _, l := range lvs {
			ls.Add(l.key, l.key, ratelimit.PerMinute(l.per))
		}
		return ls
	}
	d, err := l.AllowLevels(ctx, levels())
	require.NoError(t, err)
	require.Equal(t, -1, d.Refused)
	require.Equal(t, -1, d.Result.Remaining, "no levels: unlimited")

	// k:a 3/min in pool k:p 4/min; k:b 3/min in the same pool.
	a := levels(lv{"k:a", 3}, lv{"k:p", 4}, lv{"t:x", 100})
	b := levels(lv{"k:b", 3}, lv{"k:p", 4}, lv{"t:x", 100})
	for i, tt := range []struct {
		ls            ratelimit.Levels
		refused       int
		wantRemaining int
	}{
		{a, -1, 2}, // k:a 2 left, pool 3 left
		{a, -1, 1}, // k:a 1, pool 2
		{b, -1, 1}, // k:b 2, pool 1
		{b, -1, 0}, // k:b 1, pool 0
		{b, 1, 0},  // the pool refuses; k:b is not charged
		{a, 1, 0},  // the pool refuses a's requests too
	} {
		d, err := l.AllowLevels(ctx, tt.ls)
		require.NoError(t, err)
		require.Equal(t, tt.refused, d.Refused, "request %d", i)
		require.Equal(t, tt.refused < 0, d.Result.Allowed, "request %d", i)
		require.Equal(t, tt.wantRemaining, d.Result.Remaining, "request %d", i)
		if tt.refused >= 0 {
			require.Equal(t, 4, d.Result.Limit.Rate, "the pool's limit is reported")
			require.Positive(t, d.Result.RetryAfter)
		}
	}
	// A refused request charged nothing: once the pool has room again
	// (one interval, 15 s), k:b has room for its third request (had the
	// pool's refusal charged k:b, it would wait until 20 s) — and then its
	// own bucket (3 a minute, one every 20 s) is the first to refuse.
	advance(15 * time.Second)
	d, err = l.AllowLevels(ctx, b)
	require.NoError(t, err)
	require.Equal(t, -1, d.Refused, "k:b was not charged for the refused request")
	d, err = l.AllowLevels(ctx, b)
	require.NoError(t, err)
	require.Equal(t, 0, d.Refused, "k:b's own bucket is spent")
	require.Equal(t, 3, d.Result.Limit.Rate)
	// Another pool is independent.
	d, err = l.AllowLevels(ctx, levels(lv{"k:c", 3}, lv{"k:q", 4}))
	require.NoError(t, err)
	require.Equal(t, -1, d.Refused)
}

func TestMemoryLevels(t *testing.T) {
	c := newClock()
	levelsContract(t, ratelimit.NewMemory(c.now), c.advance)
}

// The same contract on a real redis-server (Redis's clock: the test
// waits), and two edges share the pool's bucket.
func TestRedisLevels(t *testing.T) {
	addr := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = rdb.Close() })
	r := ratelimit.NewRedis(rdb, "rampart:edge:", nil, slog.New(slog.DiscardHandler))
	levelsContract(t, r, time.Sleep)
	require.Zero(t, r.Failures())

	other := ratelimit.NewRedis(redis.NewClient(&redis.Options{Addr: addr}), "rampart:edge:", nil, nil)
	allowed := 0
	for i := range 6 {
		lim, key := r, "k:m1"
		if i%2 == 1 {
			lim, key = other, "k:m2"
		}
		var ls ratelimit.Levels
		ls.Add("key", key, ratelimit.PerMinute(3))
		ls.Add("pool", "k:shared-pool", ratelimit.PerMinute(3))
		d, err := lim.AllowLevels(t.Context(), ls)
		require.NoError(t, err)
		if d.Refused < 0 {
			allowed++
		}
	}
	require.Equal(t, 3, allowed, "two edges, two keys: the pool admits its limit once")
	require.Zero(t, other.Failures())
}

// The same contract on a real Redis Cluster of three masters on loopback
// (ADR 0086): the buckets of a request share the tenant's hash tag, so the
// one script call finds them in one slot. Without the tag the cluster
// refuses the script (CROSSSLOT) and the limiter falls back to memory.
func TestRedisClusterLevels(t *testing.T) {
	rdb := redistest.ClusterClient(t, 3)
	r := ratelimit.NewRedis(rdb, "rampart:edge:", nil, slog.New(slog.DiscardHandler))
	levelsContract(t, r, time.Sleep)
	require.Zero(t, r.Failures(), "every script call ran on the cluster")

	var untagged ratelimit.Levels
	for _, k := range []string{"k:a", "k:b", "k:c", "k:d", "t:x"} {
		untagged.Add("key", k, ratelimit.PerMinute(3))
	}
	d, err := r.AllowLevels(t.Context(), untagged)
	require.NoError(t, err)
	require.Equal(t, -1, d.Refused, "the in-memory fallback decides")
	require.EqualValues(t, 1, r.Failures(), "keys in several slots: the cluster refuses the script")
}

// TestPooledKeysShareTheRate: N keys minted from a key limited to 3
// requests per minute get 3 requests per minute together, not 3 each; the
// refusal is OpenAI's 429 with retry-after. On the previous code each key
// got its own 3.
func TestPooledKeysShareTheRate(t *testing.T) {
	c := newClock()
	reg := ratelimit.NewMetrics(prometheus.NewRegistry())
	h := ratelimit.Middleware(ratelimit.NewMemory(c.now), ratelimit.Defaults{}, reg, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
	}))
	pool := &authv1.RatePool{KeyId: "FiRsTlImItEd", PerMinute: 3}
	principals := []*authv1.Principal{{KeyId: "FiRsTlImItEd", TenantId: "t", Limits: &authv1.Limits{RequestsPerMinute: 3}}}
	for _, id := range []string{"MiNtEdKeY001", "MiNtEdKeY002", "MiNtEdKeY003", "MiNtEdKeY004"} {
		principals = append(principals, &authv1.Principal{KeyId: id, TenantId: "t", Limits: &authv1.Limits{RequestsPerMinute: 3}, RequestsPool: pool})
	}
	serve := func(p *authv1.Principal) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
		r = r.WithContext(authn.NewContext(context.Background(), p, "assertion"))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	ok := 0
	var refused *httptest.ResponseRecorder
	for range 3 {
		for _, p := range principals[1:] {
			if w := serve(p); w.Code == http.StatusOK {
				ok++
			} else {
				refused = w
			}
		}
	}
	require.Equal(t, 3, ok, "four minted keys share their first key's 3 requests per minute")
	require.Equal(t, http.StatusTooManyRequests, refused.Code)
	require.Equal(t, "20", refused.Header().Get("Retry-After"))
	require.Equal(t, "20000", refused.Header().Get("Retry-After-Ms"), "the SDKs' precise wait")
	require.Equal(t, "3", refused.Header().Get(ratelimit.HeaderLimit))
	var body struct {
		Error struct{ Message, Type, Code string }
	}
	require.NoError(t, json.Unmarshal(refused.Body.Bytes(), &body))
	require.Equal(t, "requests", body.Error.Type)
	require.Equal(t, "rate_limit_exceeded", body.Error.Code)
	require.Contains(t, body.Error.Message, "3 requests per minute for the keys minted from the same limited key")
	require.Equal(t, http.StatusTooManyRequests, serve(principals[0]).Code, "the first key draws from the same bucket")
	require.InDelta(t, 9, testutil.ToFloat64(reg.Counter("pool")), 0, "nine refusals by the pool")
	require.InDelta(t, 1, testutil.ToFloat64(reg.Counter("key")), 0, "the first key's own bucket is the pool's: refused as the key")
}

// TestNarrowerLimitsNest (ADR 0086): key A (5 RPM) mints B (3 RPM,
// keys:write), and B mints four keys. Their principals carry both pools,
// A's and B's, and every request is charged to all of them or none: the
// four keys together get B's 3 (on the code of ADR 0076 — A's pool alone —
// they got A's 5), and A's other key S then gets what is left of A's 5,
// because the requests B's bucket refused charged nothing to A's. In
// memory, on a real redis-server (whose keys share the tenant's hash tag)
// and on a real Redis Cluster of three masters.
func TestNarrowerLimitsNest(t *testing.T) {
	addr := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = rdb.Close() })
	cluster := redistest.ClusterClient(t, 3)
	onCluster := ratelimit.NewRedis(cluster, "rampart:edge:", nil, slog.New(slog.DiscardHandler))
	for _, tt := range []struct {
		name string
		l    ratelimit.Limiter
	}{
		{"memory", ratelimit.NewMemory(newClock().now)},
		{"redis", ratelimit.NewRedis(rdb, "rampart:edge:", nil, slog.New(slog.DiscardHandler))},
		{"redis cluster", onCluster},
	} {
		t.Run(tt.name, func(t *testing.T) {
			reg := ratelimit.NewMetrics(prometheus.NewRegistry())
			h := ratelimit.Middleware(tt.l, ratelimit.Defaults{}, reg, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusOK)
			}))
			tenant := "t_" + strings.ReplaceAll(tt.name, " ", "_")
			poolA := &authv1.RatePool{KeyId: "KeYaFiVe0001", PerMinute: 5}
			poolB := &authv1.RatePool{KeyId: "KeYbThReE001", PerMinute: 3}
			var underB []*authv1.Principal
			for _, id := range []string{"UnDeRb000001", "UnDeRb000002", "UnDeRb000003", "UnDeRb000004"} {
				underB = append(underB, &authv1.Principal{KeyId: id, TenantId: tenant, Limits: &authv1.Limits{RequestsPerMinute: 3},
					RequestsPool: poolA, RequestsPools: []*authv1.RatePool{poolA, poolB}})
			}
			sibling := &authv1.Principal{KeyId: "SiBlInG00001", TenantId: tenant, Limits: &authv1.Limits{RequestsPerMinute: 5},
				RequestsPool: poolA, RequestsPools: []*authv1.RatePool{poolA}}
			serve := func(p *authv1.Principal) *httptest.ResponseRecorder {
				r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
				r = r.WithContext(authn.NewContext(context.Background(), p, "assertion"))
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				return w
			}
			ok := 0
			for range 3 {
				for _, p := range underB {
					if w := serve(p); w.Code == http.StatusOK {
						ok++
					} else {
						require.Equal(t, http.StatusTooManyRequests, w.Code)
						require.Equal(t, "3", w.Header().Get(ratelimit.HeaderLimit), "B's bucket refuses")
					}
				}
			}
			require.Equal(t, 3, ok, "the keys B minted share B's 3 requests a minute, not A's 5")
			ok = 0
			for range 5 {
				if w := serve(sibling); w.Code == http.StatusOK {
					ok++
				} else {
					require.Equal(t, "5", w.Header().Get(ratelimit.HeaderLimit), "A's bucket refuses")
				}
			}
			require.Equal(t, 2, ok, "A's other key gets what is left of A's 5: B's refusals charged nothing to A")
			require.InDelta(t, 9+3, testutil.ToFloat64(reg.Counter("pool")), 0)
			require.Zero(t, onCluster.Failures(), "on the cluster, no fallback to memory")
			if tt.name == "redis" {
				keys, err := rdb.Keys(t.Context(), "rate:rampart:edge:*").Result()
				require.NoError(t, err)
				require.NotEmpty(t, keys)
				for _, k := range keys {
					require.True(t, strings.HasPrefix(k, "rate:rampart:edge:{"+tenant+"}"), "%q carries the tenant's hash tag", k)
				}
			}
		})
	}
}
