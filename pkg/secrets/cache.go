package secrets

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"
	"golang.org/x/sync/singleflight"

	"github.com/rampart-platform/rampart/pkg/principal"
	"github.com/rampart-platform/rampart/pkg/retry"
	"github.com/rampart-platform/rampart/pkg/ttlcache"
)

// CacheOptions configure a Cache. Zero values take the defaults.
type CacheOptions struct {
	// Name labels the cache's metrics and breaker ("default").
	Name string
	// TTL is how long a value is fresh (default 5 min); each entry's
	// lifetime is shortened by a random fraction up to Jitter (default 0.1)
	// so entries loaded together do not expire together.
	TTL    time.Duration
	Jitter float64
	// MaxEntries bounds the cache (default 1024); the least recently used
	// entry goes first.
	MaxEntries int
	// MaxStale is how long after expiry a value may still be served when
	// the source fails with a transient error (default 30 min; negative
	// disables stale serving).
	MaxStale time.Duration
	// Attempts is how many times a miss tries the source on transient
	// errors (default 3), waiting an exponential backoff with full jitter
	// between BackoffBase (default 50 ms) and BackoffMax (default 2 s)
	// (cenkalti/backoff through pkg/retry).
	Attempts    int
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// FetchTimeout bounds one miss, retries included (default 10 s). The
	// fetch runs detached from the first caller's cancellation because
	// other callers may be waiting on it.
	FetchTimeout time.Duration
	// BreakerFailures consecutive transient failures open the circuit
	// breaker (default 5); it half-opens after BreakerTimeout (default 30 s).
	BreakerFailures uint32
	BreakerTimeout  time.Duration
	// Registerer receives the cache's metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// Scope partitions entries; the default is the tenant of the verified
	// principal in the context (empty for service-level reads), so cached
	// values never cross tenants.
	Scope func(ctx context.Context) string
	// Now is the clock (tests use a fake one).
	Now func() time.Time
}

func (o *CacheOptions) defaults() {
	if o.Name == "" {
		o.Name = "default"
	}
	if o.TTL <= 0 {
		o.TTL = 5 * time.Minute
	}
	if o.Jitter <= 0 || o.Jitter >= 1 {
		o.Jitter = 0.1
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = 1024
	}
	if o.MaxStale == 0 {
		o.MaxStale = 30 * time.Minute
	}
	if o.Attempts <= 0 {
		o.Attempts = 3
	}
	if o.BackoffBase <= 0 {
		o.BackoffBase = 50 * time.Millisecond
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = 2 * time.Second
	}
	if o.FetchTimeout <= 0 {
		o.FetchTimeout = 10 * time.Second
	}
	if o.BreakerFailures == 0 {
		o.BreakerFailures = 5
	}
	if o.BreakerTimeout <= 0 {
		o.BreakerTimeout = 30 * time.Second
	}
	if o.Scope == nil {
		o.Scope = TenantScope
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// TenantScope is the default scope: the verified principal's tenant.
func TenantScope(ctx context.Context) string {
	if p, ok := principal.FromContext(ctx); ok {
		return p.GetTenantId()
	}
	return ""
}

// entry is a cached value: fresh until expires, then served only when the
// source fails, until the pkg/ttlcache entry holding it expires (MaxStale
// later).
type entry struct {
	val     Value
	expires time.Time
}

// Cache is a Source in front of another Source. It is safe for concurrent
// use.
type Cache struct {
	src Source
	o   CacheOptions
	cb  *gobreaker.CircuitBreaker[Value]
	sf  singleflight.Group

	items *ttlcache.Cache[string, entry]

	hits, misses, stale, upstream, failures, evictions prometheus.Counter
	breakerOpen                                        prometheus.Gauge
}

// NewCache returns a Cache over src.
func NewCache(src Source, o CacheOptions) (*Cache, error) {
	o.defaults()
	c := &Cache{src: src, o: o}
	labels := prometheus.Labels{"cache": o.Name}
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: "rampart", Subsystem: "secrets_cache", Name: name, Help: help, ConstLabels: labels})
	}
	c.hits = counter("hits_total", "Reads answered from a fresh cache entry.")
	c.misses = counter("misses_total", "Reads that went to the source (singleflight-shared).")
	c.stale = counter("stale_served_total", "Reads answered with an expired value because the source failed.")
	c.upstream = counter("upstream_calls_total", "Calls made to the source, retries included.")
	c.failures = counter("failures_total", "Reads that failed with no value to serve.")
	c.evictions = counter("evictions_total", "Entries evicted to respect MaxEntries.")
	c.items = ttlcache.New(o.MaxEntries, func(string, entry) { c.evictions.Inc() })
	c.breakerOpen = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "rampart", Subsystem: "secrets_cache", Name: "breaker_open",
		Help: "1 while the circuit breaker is open or half-open.", ConstLabels: labels})
	if o.Registerer != nil {
		for _, m := range []prometheus.Collector{c.hits, c.misses, c.stale, c.upstream, c.failures, c.evictions, c.breakerOpen} {
			if err := o.Registerer.Register(m); err != nil {
				return nil, fmt.Errorf("secrets: register metrics: %w", err)
			}
		}
	}
	c.cb = gobreaker.NewCircuitBreaker[Value](gobreaker.Settings{
		Name:        "secrets-" + o.Name,
		MaxRequests: 1,
		Timeout:     o.BreakerTimeout,
		ReadyToTrip: func(n gobreaker.Counts) bool { return n.ConsecutiveFailures >= o.BreakerFailures },
		IsSuccessful: func(err error) bool {
			return err == nil || IsPermanent(err)
		},
		IsExcluded: func(err error) bool { return errors.Is(err, context.Canceled) },
		OnStateChange: func(_ string, _, to gobreaker.State) {
			if to == gobreaker.StateClosed {
				c.breakerOpen.Set(0)
			} else {
				c.breakerOpen.Set(1)
			}
		},
	})
	return c, nil
}

// BreakerState reports the circuit breaker's state ("closed", "open",
// "half-open").
func (c *Cache) BreakerState() string { return c.cb.State().String() }

// Len reports the number of cached entries.
func (c *Cache) Len() int { return c.items.Len() }

func cacheKey(scope, name, stage string) string { return scope + "\x00" + name + "\x00" + stage }

// GetSecretValue returns a fresh cached value or reads the source (one
// call per key however many callers miss at once). On a transient failure
// it serves the last value while it is within MaxStale of its expiry.
func (c *Cache) GetSecretValue(ctx context.Context, name, stage string) (Value, error) {
	if stage == "" {
		stage = StageCurrent
	}
	key := cacheKey(c.o.Scope(ctx), name, stage)
	if v, ok := c.freshValue(key); ok {
		c.hits.Inc()
		return v, nil
	}
	c.misses.Inc()

	ch := c.sf.DoChan(key, func() (any, error) {
		// A flight that finished just before this one started may have
		// refreshed the entry already.
		if v, ok := c.freshValue(key); ok {
			return v, nil
		}
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.o.FetchTimeout)
		defer cancel()
		v, err := c.fetch(fctx, name, stage)
		switch {
		case err == nil:
			c.put(key, v)
		case IsPermanent(err):
			c.items.Remove(key)
		}
		return v, err
	})
	var res singleflight.Result
	select {
	case <-ctx.Done():
		return Value{}, ctx.Err()
	case res = <-ch:
	}
	if res.Err == nil {
		v, _ := res.Val.(Value) // the singleflight function returns only Value
		return v, nil
	}
	if IsPermanent(res.Err) {
		return Value{}, res.Err
	}
	if e, ok := c.items.Get(key, c.o.Now()); ok { // within MaxStale of its expiry
		c.stale.Inc()
		return e.val, nil
	}
	c.failures.Inc()
	return Value{}, fmt.Errorf("%w: %q: %w", ErrUnavailable, name, res.Err)
}

// Invalidate drops the cached value of name at stage ("" = AWSCURRENT) in
// ctx's scope, e.g. after writing a new version.
func (c *Cache) Invalidate(ctx context.Context, name, stage string) {
	if stage == "" {
		stage = StageCurrent
	}
	c.items.Remove(cacheKey(c.o.Scope(ctx), name, stage))
}

// fetch reads the source, retrying transient errors Attempts times in all
// with full jitter (pkg/retry); a permanent error, an open breaker or the
// end of ctx stops it. It returns the source's last error, joined with
// ctx's when that ended the retries.
func (c *Cache) fetch(ctx context.Context, name, stage string) (Value, error) {
	var last error
	v, err := backoff.Retry(ctx, func() (Value, error) {
		v, err := c.cb.Execute(func() (Value, error) {
			c.upstream.Inc()
			return c.src.GetSecretValue(ctx, name, stage)
		})
		if err == nil {
			return v, nil
		}
		last = err
		if IsPermanent(err) || errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
			return v, backoff.Permanent(err)
		}
		return v, err
	},
		backoff.WithBackOff(retry.FullJitter(c.o.BackoffBase, c.o.BackoffMax)),
		backoff.WithMaxTries(uint(c.o.Attempts)), //nolint:gosec // defaults() makes it positive
		backoff.WithMaxElapsedTime(0))            // FetchTimeout bounds ctx
	if err != nil && ctx.Err() != nil && last != nil && !errors.Is(last, ctx.Err()) {
		return Value{}, errors.Join(last, ctx.Err())
	}
	if err != nil {
		return Value{}, err
	}
	return v, nil
}

// put caches v: fresh for the TTL less up to Jitter of it, then held for
// stale serving until MaxStale after that.
func (c *Cache) put(key string, v Value) {
	now := c.o.Now()
	e := entry{val: v, expires: now.Add(c.o.TTL - time.Duration(rand.Float64()*c.o.Jitter*float64(c.o.TTL)))}
	c.items.Put(key, e, e.expires.Add(max(c.o.MaxStale, 0)))
}

// freshValue returns key's value if it has not expired.
func (c *Cache) freshValue(key string) (Value, bool) {
	now := c.o.Now()
	if e, ok := c.items.Get(key, now); ok && now.Before(e.expires) {
		return e.val, true
	}
	return Value{}, false
}
