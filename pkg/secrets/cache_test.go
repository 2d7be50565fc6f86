package secrets_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/principal"
	"github.com/rampart-platform/rampart/pkg/secrets"
)

// upstream is a controllable Source.
type upstream struct {
	calls   atomic.Int64
	down    atomic.Bool
	missing atomic.Bool
	gate    chan struct{} // when non-nil, calls wait for it to close
	version atomic.Int64
}

func (u *upstream) GetSecretValue(ctx context.Context, name, stage string) (secrets.Value, error) {
	u.calls.Add(1)
	if u.gate != nil {
		<-u.gate
	}
	if u.down.Load() {
		return secrets.Value{}, errors.New("connection refused")
	}
	if u.missing.Load() {
		return secrets.Value{}, fmt.Errorf("%w: %s", secrets.ErrNotFound, name)
	}
	scope := secrets.TenantScope(ctx)
	return secrets.Value{Name: name, VersionID: fmt.Sprint(u.version.Load()), Stages: []string{stage}, String: scope + ":" + name}, nil
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newCache(t testing.TB, src secrets.Source, o secrets.CacheOptions) (*secrets.Cache, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	o.Registerer = reg
	// Retries wait real (jittered) time: keep it short.
	if o.BackoffBase == 0 {
		o.BackoffBase, o.BackoffMax = time.Millisecond, 2*time.Millisecond
	}
	c, err := secrets.NewCache(src, o)
	require.NoError(t, err)
	return c, reg
}

func counter(t testing.TB, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == "rampart_secrets_cache_"+name {
			m := mf.GetMetric()[0]
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("metric %s not found", name)
	return 0
}

func TestCacheTTLWithFakeClock(t *testing.T) {
	up := &upstream{}
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	c, reg := newCache(t, up, secrets.CacheOptions{TTL: time.Minute, Jitter: 0.1, Now: clk.Now})
	ctx := context.Background()

	v, err := c.GetSecretValue(ctx, "/dev/svc/api-key/a", "")
	require.NoError(t, err)
	require.Equal(t, ":/dev/svc/api-key/a", v.String)
	require.EqualValues(t, 1, up.calls.Load())

	clk.Add(53 * time.Second) // inside TTL minus the maximum jitter (6 s)
	up.version.Store(2)
	v, err = c.GetSecretValue(ctx, "/dev/svc/api-key/a", "AWSCURRENT")
	require.NoError(t, err)
	require.Equal(t, "0", v.VersionID, "served from cache")
	require.EqualValues(t, 1, up.calls.Load())

	clk.Add(8 * time.Second) // past the full TTL
	v, err = c.GetSecretValue(ctx, "/dev/svc/api-key/a", "")
	require.NoError(t, err)
	require.Equal(t, "2", v.VersionID, "expired entry reloaded")
	require.EqualValues(t, 2, up.calls.Load())
	require.EqualValues(t, 1, counter(t, reg, "hits_total"))
	require.EqualValues(t, 2, counter(t, reg, "misses_total"))
}

func TestCacheScopesByTenant(t *testing.T) {
	up := &upstream{}
	c, _ := newCache(t, up, secrets.CacheOptions{})
	ctxA := principal.NewContext(context.Background(), &authv1.Principal{TenantId: "ta"})
	ctxB := principal.NewContext(context.Background(), &authv1.Principal{TenantId: "tb"})
	a, err := c.GetSecretValue(ctxA, "/dev/x/y/z", "")
	require.NoError(t, err)
	b, err := c.GetSecretValue(ctxB, "/dev/x/y/z", "")
	require.NoError(t, err)
	require.Equal(t, "ta:/dev/x/y/z", a.String)
	require.Equal(t, "tb:/dev/x/y/z", b.String)
	require.EqualValues(t, 2, up.calls.Load())
}

func TestCacheSingleflight(t *testing.T) {
	up := &upstream{gate: make(chan struct{})}
	c, reg := newCache(t, up, secrets.CacheOptions{})
	const n = 64
	var wg sync.WaitGroup
	var started sync.WaitGroup
	started.Add(n)
	results := make([]secrets.Value, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			started.Done()
			results[i], errs[i] = c.GetSecretValue(context.Background(), "/dev/x/y/z", "")
		})
	}
	started.Wait()
	// Every goroutine has started; misses are counted before they join the
	// flight, so wait until all n have missed before releasing the source.
	require.Eventually(t, func() bool { return counter(t, reg, "misses_total") == n }, 10*time.Second, time.Millisecond)
	close(up.gate)
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		require.Equal(t, ":/dev/x/y/z", results[i].String)
	}
	require.EqualValues(t, 1, up.calls.Load(), "one upstream call for %d concurrent misses", n)
}

func TestCacheOutageServesStaleBreakerOpensAndRecovers(t *testing.T) {
	up := &upstream{}
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	c, reg := newCache(t, up, secrets.CacheOptions{
		TTL: time.Minute, MaxStale: 10 * time.Minute, Attempts: 3, BreakerFailures: 3, BreakerTimeout: 2 * time.Second, Now: clk.Now, // long enough that a loaded CI machine cannot see it half-open mid-test
	})
	ctx := context.Background()
	const name = "/prod/slack-adapter/token/bot"
	_, err := c.GetSecretValue(ctx, name, "")
	require.NoError(t, err)

	// Outage: the entry expires; reads serve the stale value.
	up.down.Store(true)
	clk.Add(2 * time.Minute)
	v, err := c.GetSecretValue(ctx, name, "")
	require.NoError(t, err)
	require.Equal(t, ":"+name, v.String)
	require.EqualValues(t, 1+3, up.calls.Load(), "three attempts with backoff")
	require.Equal(t, "open", c.BreakerState(), "three consecutive failures open the breaker")
	require.EqualValues(t, 1, counter(t, reg, "breaker_open"))

	// While open, the source is not called at all and stale values still flow.
	calls := up.calls.Load()
	v, err = c.GetSecretValue(ctx, name, "")
	require.NoError(t, err)
	require.Equal(t, ":"+name, v.String)
	require.Equal(t, calls, up.calls.Load(), "open breaker short-circuits")
	require.EqualValues(t, 2, counter(t, reg, "stale_served_total"))

	// A secret never cached has nothing to serve: the error says unavailable.
	_, err = c.GetSecretValue(ctx, "/prod/slack-adapter/token/other", "")
	require.ErrorIs(t, err, secrets.ErrUnavailable)

	// Past the stale bound the value is no longer served.
	clk.Add(10 * time.Minute)
	_, err = c.GetSecretValue(ctx, name, "")
	require.ErrorIs(t, err, secrets.ErrUnavailable)

	// Recovery: the source comes back; after the breaker's timeout a probe
	// goes through, closes the breaker and refreshes the entry.
	up.down.Store(false)
	up.version.Store(7)
	require.Eventually(t, func() bool {
		v, err := c.GetSecretValue(ctx, name, "")
		return err == nil && v.VersionID == "7"
	}, 10*time.Second, 20*time.Millisecond)
	require.Equal(t, "closed", c.BreakerState())
	require.EqualValues(t, 0, counter(t, reg, "breaker_open"))
}

func TestCachePermanentErrorsNotRetriedNorStale(t *testing.T) {
	up := &upstream{}
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	c, _ := newCache(t, up, secrets.CacheOptions{TTL: time.Minute, BreakerFailures: 1, Now: clk.Now})
	ctx := context.Background()
	_, err := c.GetSecretValue(ctx, "/dev/a/b/c", "")
	require.NoError(t, err)
	up.missing.Store(true)
	clk.Add(2 * time.Minute)
	_, err = c.GetSecretValue(ctx, "/dev/a/b/c", "")
	require.ErrorIs(t, err, secrets.ErrNotFound, "a deleted secret is not served stale")
	require.EqualValues(t, 2, up.calls.Load(), "permanent errors are not retried")
	require.Equal(t, "closed", c.BreakerState(), "permanent errors do not trip the breaker")
	require.Zero(t, c.Len())
}

func TestCacheLRUBound(t *testing.T) {
	up := &upstream{}
	c, reg := newCache(t, up, secrets.CacheOptions{MaxEntries: 3})
	for i := range 5 {
		_, err := c.GetSecretValue(context.Background(), fmt.Sprintf("/dev/a/b/%d", i), "")
		require.NoError(t, err)
	}
	require.Equal(t, 3, c.Len())
	require.EqualValues(t, 2, counter(t, reg, "evictions_total"))
	// The most recent ones stay.
	_, err := c.GetSecretValue(context.Background(), "/dev/a/b/4", "")
	require.NoError(t, err)
	require.EqualValues(t, 5, up.calls.Load())
	c.Invalidate(context.Background(), "/dev/a/b/4", "")
	_, err = c.GetSecretValue(context.Background(), "/dev/a/b/4", "")
	require.NoError(t, err)
	require.EqualValues(t, 6, up.calls.Load())
}

func TestCacheRegistersMetricsOnce(t *testing.T) {
	reg := prometheus.NewRegistry()
	_, err := secrets.NewCache(&upstream{}, secrets.CacheOptions{Registerer: reg})
	require.NoError(t, err)
	_, err = secrets.NewCache(&upstream{}, secrets.CacheOptions{Registerer: reg})
	require.Error(t, err, "a second cache needs its own Name")
	_, err = secrets.NewCache(&upstream{}, secrets.CacheOptions{Registerer: reg, Name: "other"})
	require.NoError(t, err)
	require.Positive(t, testutil.CollectAndCount(reg))
}

// BenchmarkCacheHit is a cached read (target ≤ 1 µs).
func BenchmarkCacheHit(b *testing.B) {
	c, _ := newCache(b, &upstream{}, secrets.CacheOptions{})
	ctx := principal.NewContext(context.Background(), &authv1.Principal{TenantId: "t1"})
	_, err := c.GetSecretValue(ctx, "/prod/svc/api-key/k", "")
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.GetSecretValue(ctx, "/prod/svc/api-key/k", ""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCacheHitParallel is a cached read from all cores.
func BenchmarkCacheHitParallel(b *testing.B) {
	c, _ := newCache(b, &upstream{}, secrets.CacheOptions{})
	ctx := principal.NewContext(context.Background(), &authv1.Principal{TenantId: "t1"})
	_, err := c.GetSecretValue(ctx, "/prod/svc/api-key/k", "")
	require.NoError(b, err)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.GetSecretValue(ctx, "/prod/svc/api-key/k", ""); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// flaky fails its first n calls with err, then answers.
type flaky struct {
	calls atomic.Int64
	n     int64
	err   error
}

func (f *flaky) GetSecretValue(_ context.Context, name, _ string) (secrets.Value, error) {
	if f.calls.Add(1) <= f.n {
		return secrets.Value{}, f.err
	}
	return secrets.Value{Name: name, String: "v"}, nil
}

// TestCacheMissRetries: a miss tries the source Attempts times in all on
// transient errors, once on permanent ones, with the jittered backoff
// between tries.
func TestCacheMissRetries(t *testing.T) {
	transient := errors.New("connection refused")
	tests := []struct {
		name      string
		attempts  int
		failFirst int64
		err       error
		wantCalls int64
		wantErr   error
	}{
		{"answers first time", 3, 0, transient, 1, nil},
		{"transient then answers", 3, 2, transient, 3, nil},
		{"transient every time", 3, 5, transient, 3, secrets.ErrUnavailable},
		{"one attempt configured", 1, 5, transient, 1, secrets.ErrUnavailable},
		{"default attempts", 0, 5, transient, 3, secrets.ErrUnavailable},
		{"permanent is not retried", 3, 5, fmt.Errorf("%w: gone", secrets.ErrNotFound), 1, secrets.ErrNotFound},
		{"denied is not retried", 3, 5, fmt.Errorf("%w: no", secrets.ErrDenied), 1, secrets.ErrDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &flaky{n: tt.failFirst, err: tt.err}
			c, _ := newCache(t, src, secrets.CacheOptions{Attempts: tt.attempts, MaxStale: -1, BreakerFailures: 100})
			v, err := c.GetSecretValue(context.Background(), "/x", "")
			require.Equal(t, tt.wantCalls, src.calls.Load())
			if tt.wantErr == nil {
				require.NoError(t, err)
				require.Equal(t, "v", v.String)
				return
			}
			require.ErrorIs(t, err, tt.wantErr)
		})
	}
}

// TestCacheRetryWaitEndsWithFetchTimeout: a backoff longer than what is
// left of FetchTimeout is cut short, and the source's error is kept.
func TestCacheRetryWaitEndsWithFetchTimeout(t *testing.T) {
	src := &flaky{n: 100, err: errors.New("connection refused")}
	c, _ := newCache(t, src, secrets.CacheOptions{
		Attempts: 5, BackoffBase: time.Hour, BackoffMax: time.Hour, FetchTimeout: 50 * time.Millisecond, MaxStale: -1, BreakerFailures: 100,
	})
	start := time.Now()
	_, err := c.GetSecretValue(context.Background(), "/x", "")
	require.Less(t, time.Since(start), 10*time.Second)
	require.ErrorIs(t, err, secrets.ErrUnavailable)
	require.ErrorContains(t, err, "connection refused")
	require.ErrorIs(t, err, context.DeadlineExceeded)
}
