package ratelimit_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/latency"
	"github.com/rampart-platform/rampart/pkg/store/redistest"
	"github.com/rampart-platform/rampart/services/edge/internal/authn"
	"github.com/rampart-platform/rampart/services/edge/internal/ratelimit"
)

type clock struct{ t atomic.Int64 }

func (c *clock) now() time.Time          { return time.Unix(0, c.t.Load()) }
func (c *clock) advance(d time.Duration) { c.t.Add(int64(d)) }
func newClock() *clock {
	c := &clock{}
	c.t.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func TestMemoryGCRA(t *testing.T) {
	c := newClock()
	m := ratelimit.NewMemory(c.now)
	ctx := context.Background()
	l := ratelimit.PerMinute(3)
	for i, wantRemaining := range []int{2, 1, 0} {
		res, err := m.Allow(ctx, "k", l)
		require.NoError(t, err)
		require.True(t, res.Allowed, "request %d", i)
		require.Equal(t, wantRemaining, res.Remaining)
	}
	res, err := m.Allow(ctx, "k", l)
	require.NoError(t, err)
	require.False(t, res.Allowed)
	require.Equal(t, 20*time.Second, res.RetryAfter)
	require.Equal(t, time.Minute, res.ResetAfter)

	// Another key is independent.
	res, err = m.Allow(ctx, "other", l)
	require.NoError(t, err)
	require.True(t, res.Allowed)

	// One emission interval later, exactly one more request fits.
	c.advance(20 * time.Second)
	res, err = m.Allow(ctx, "k", l)
	require.NoError(t, err)
	require.True(t, res.Allowed)
	res, err = m.Allow(ctx, "k", l)
	require.NoError(t, err)
	require.False(t, res.Allowed)

	// Unlimited.
	res, err = m.Allow(ctx, "k", ratelimit.PerMinute(0))
	require.NoError(t, err)
	require.True(t, res.Allowed)
}

func TestFormatReset(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"}, {20 * time.Millisecond, "20ms"}, {time.Second, "1s"},
		{1500 * time.Millisecond, "1.5s"}, {6 * time.Minute, "6m0s"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, ratelimit.FormatReset(tt.d))
	}
}

// Two edges, each with its own Redis limiter, share one limit through one
// real redis-server.
func TestRedisSharedLimit(t *testing.T) {
	addr := redistest.Start(t)
	newEdgeLimiter := func() *ratelimit.Redis {
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		t.Cleanup(func() { _ = rdb.Close() })
		return ratelimit.NewRedis(rdb, "rampart:edge:", nil, slog.New(slog.DiscardHandler))
	}
	a, b := newEdgeLimiter(), newEdgeLimiter()
	ctx := t.Context()
	l := ratelimit.PerMinute(4)
	allowed := 0
	for i := range 8 {
		lim := a
		if i%2 == 1 {
			lim = b
		}
		res, err := lim.Allow(ctx, "k:shared", l)
		require.NoError(t, err)
		if res.Allowed {
			allowed++
		} else {
			require.Positive(t, res.RetryAfter)
		}
	}
	require.Equal(t, 4, allowed, "the two edges together admit the limit once")
	require.Zero(t, a.Failures()+b.Failures())
}

func TestRedisFallsBackToMemory(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = rdb.Close() })
	r := ratelimit.NewRedis(rdb, "p:", ratelimit.NewMemory(nil), nil)
	l := ratelimit.PerMinute(1)
	res, err := r.Allow(t.Context(), "k", l)
	require.NoError(t, err)
	require.True(t, res.Allowed)
	res, err = r.Allow(t.Context(), "k", l)
	require.NoError(t, err)
	require.False(t, res.Allowed, "the fallback still limits")
	require.EqualValues(t, 2, r.Failures())
}

func BenchmarkMemoryAllow(b *testing.B) {
	m := ratelimit.NewMemory(nil)
	l := ratelimit.PerMinute(1 << 30)
	ctx := context.Background()
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = fmt.Sprintf("k:%d", i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			_, _ = m.Allow(ctx, keys[i%len(keys)], l)
			i++
		}
	})
}

func BenchmarkRedisAllow(b *testing.B) {
	addr := redistest.Start(b)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	b.Cleanup(func() { _ = rdb.Close() })
	r := ratelimit.NewRedis(rdb, "bench:", nil, nil)
	l := ratelimit.PerMinute(1 << 30)
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		_, _ = r.Allow(ctx, "k:bench", l)
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	latency.Report(b, "", lat)
	require.Zero(b, r.Failures())
}

// The middleware stores the rate-limit headers into the header map
// directly, which is only right for names in canonical form.
func TestHeaderNamesCanonical(t *testing.T) {
	for _, h := range []string{ratelimit.HeaderLimit, ratelimit.HeaderRemaining, ratelimit.HeaderReset} {
		require.Equal(t, http.CanonicalHeaderKey(h), h)
	}
}

// recordingLimiter allows everything and remembers the levels it was asked.
type recordingLimiter struct{ levels []ratelimit.Level }

func (l *recordingLimiter) AllowLevels(_ context.Context, ls ratelimit.Levels) (ratelimit.Decision, error) {
	for i := range ls.Len() {
		l.levels = append(l.levels, ls.At(i))
	}
	return ratelimit.Decision{Refused: -1, Result: ratelimit.Result{Allowed: true, Remaining: 1}}, nil
}

// TestMiddlewareKeys: the limiter is asked for the key's level as
// "k:<key id>", the key's rate pool's as "k:<pool key id>" (the pool is its
// first key's own bucket, ADR 0076) and the tenant's as "t:<tenant id>"
// (the keys Redis shares between edges), whatever the ids' lengths.
func TestMiddlewareKeys(t *testing.T) {
	pool := &authv1.RatePool{KeyId: "PoOlFiRsTkEy", PerMinute: 60}
	for _, tt := range []struct {
		name string
		p    *authv1.Principal
		want []ratelimit.Level
	}{
		{"no pool", &authv1.Principal{KeyId: "AbCdEfGhIjKl", TenantId: "t_0123456789abcdef0123"}, []ratelimit.Level{
			{Name: "key", Key: "k:AbCdEfGhIjKl", Limit: ratelimit.PerMinute(10)},
			{Name: "tenant", Key: "t:t_0123456789abcdef0123", Limit: ratelimit.PerMinute(10)}}},
		{"empty key id", &authv1.Principal{KeyId: "", TenantId: "t"}, []ratelimit.Level{
			{Name: "key", Key: "k:", Limit: ratelimit.PerMinute(10)}, {Name: "tenant", Key: "t:t", Limit: ratelimit.PerMinute(10)}}},
		{"empty tenant id", &authv1.Principal{KeyId: "k", TenantId: ""}, []ratelimit.Level{
			{Name: "key", Key: "k:k", Limit: ratelimit.PerMinute(10)}, {Name: "tenant", Key: "t:", Limit: ratelimit.PerMinute(10)}}},
		{"in a pool", &authv1.Principal{KeyId: "AbCdEfGhIjKl", TenantId: "t_1", RequestsPool: pool, Limits: &authv1.Limits{RequestsPerMinute: 30}}, []ratelimit.Level{
			{Name: "key", Key: "k:AbCdEfGhIjKl", Limit: ratelimit.PerMinute(30)},
			{Name: "pool", Key: "k:PoOlFiRsTkEy", Limit: ratelimit.PerMinute(60)},
			{Name: "tenant", Key: "t:t_1", Limit: ratelimit.PerMinute(10)}}},
		{"a pool without a rate is none", &authv1.Principal{KeyId: "k", TenantId: "t", RequestsPool: &authv1.RatePool{KeyId: "PoOlFiRsTkEy"}}, []ratelimit.Level{
			{Name: "key", Key: "k:k", Limit: ratelimit.PerMinute(10)}, {Name: "tenant", Key: "t:t", Limit: ratelimit.PerMinute(10)}}},
		{"its own pool is its own bucket, charged once", &authv1.Principal{KeyId: "PoOlFiRsTkEy", TenantId: "t", RequestsPool: pool}, []ratelimit.Level{
			{Name: "key", Key: "k:PoOlFiRsTkEy", Limit: ratelimit.PerMinute(10)}, {Name: "tenant", Key: "t:t", Limit: ratelimit.PerMinute(10)}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			lim := &recordingLimiter{}
			h := ratelimit.Middleware(lim, ratelimit.Defaults{KeyRPM: 10, TenantRPM: 10}, nil, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
			r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
			r = r.WithContext(authn.NewContext(r.Context(), tt.p, "assertion"))
			h.ServeHTTP(httptest.NewRecorder(), r)
			require.Equal(t, tt.want, lim.levels)
		})
	}
}

// TestMiddlewareKeysMemo (ADR 0121): one middleware that has seen many
// principals (more than its memo's slots, each twice, interleaved) asks
// the limiter for each request exactly what a fresh middleware asks for
// that principal, and a key verified again (a new *Principal with the
// same key id, now in a pool and with a new limit) is charged to its new
// levels, not the remembered ones.
func TestMiddlewareKeysMemo(t *testing.T) {
	d := ratelimit.Defaults{KeyRPM: 10, TenantRPM: 20}
	asked := func(h http.Handler, lim *recordingLimiter, p *authv1.Principal) []ratelimit.Level {
		lim.levels = nil
		r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
		r = r.WithContext(authn.NewContext(r.Context(), p, "assertion"))
		h.ServeHTTP(httptest.NewRecorder(), r)
		return lim.levels
	}
	fresh := func(p *authv1.Principal) []ratelimit.Level {
		lim := &recordingLimiter{}
		return asked(ratelimit.Middleware(lim, d, nil, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})), lim, p)
	}
	lim := &recordingLimiter{}
	h := ratelimit.Middleware(lim, d, nil, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	var ps []*authv1.Principal
	for i := range 300 {
		p := &authv1.Principal{KeyId: "key" + strconv.Itoa(i), TenantId: "t" + strconv.Itoa(i%7)}
		if i%3 == 0 {
			p.RequestsPool = &authv1.RatePool{KeyId: "pool" + strconv.Itoa(i), PerMinute: int64(i + 1)}
		}
		ps = append(ps, p)
	}
	for round := range 2 {
		for i, p := range ps {
			require.Equal(t, fresh(p), asked(h, lim, p), "round %d, principal %d", round, i)
		}
	}
	old := &authv1.Principal{KeyId: "AbCdEfGhIjKl", TenantId: "t_1"}
	require.Equal(t, fresh(old), asked(h, lim, old))
	again := &authv1.Principal{KeyId: "AbCdEfGhIjKl", TenantId: "t_1", Limits: &authv1.Limits{RequestsPerMinute: 30},
		RequestsPool: &authv1.RatePool{KeyId: "PoOlFiRsTkEy", PerMinute: 60}}
	require.Equal(t, []ratelimit.Level{
		{Name: "key", Key: "k:AbCdEfGhIjKl", Limit: ratelimit.PerMinute(30)},
		{Name: "pool", Key: "k:PoOlFiRsTkEy", Limit: ratelimit.PerMinute(60)},
		{Name: "tenant", Key: "t:t_1", Limit: ratelimit.PerMinute(20)}}, asked(h, lim, again))
}
