package tenantkey

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/pkg/ttlcache"
)

// DefaultTTL is how long a tenant's key is used before keyvault is asked
// again: the bound on a crypto-shred made in keyvault alone while neither
// purge nor shred stream reaches the process (ADR 0077).
const DefaultTTL = 10 * time.Minute

// DefaultMaxKeys bounds a cache made with maxKeys <= 0.
const DefaultMaxKeys = 4096

// ErrDropped is returned when the tenant's key was dropped (Forget: the
// tenant was purged or crypto-shredded) while it was being loaded.
var ErrDropped = fmt.Errorf("the tenant's data key was dropped while loading (tenant purged or shredded): %w", grpcerr.ErrFailedPrecondition)

// errLoadPanicked is what the callers waiting on a load that panicked get.
var errLoadPanicked = errors.New("tenant data key load failed")

// Cache holds one K per tenant (LRU-bounded, each for at most the TTL) and
// runs at most one load per tenant at a time.
type Cache[K any] struct {
	ttl    time.Duration
	unlock func(tenant string)

	// mu is taken around every use of keys (which has its own lock too) so
	// that a load's "dropped?" check and its insert are one step for Forget.
	mu   sync.Mutex
	now  func() time.Time
	keys *ttlcache.Cache[string, K]
	// loading holds each tenant's load in flight; Forget marks it dropped
	// and removes it, so that a Get from then on starts its own load.
	loading map[string]*load[K]
}

// load is one tenant's load in flight; key and err are set before done
// closes.
type load[K any] struct {
	done    chan struct{}
	dropped bool
	key     K
	err     error
}

// NewCache returns a cache of at most maxKeys tenants (DefaultMaxKeys when
// <= 0), each for at most ttl (DefaultTTL when <= 0).
func NewCache[K any](maxKeys int, ttl time.Duration) *Cache[K] {
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &Cache[K]{ttl: ttl, now: time.Now, keys: ttlcache.New[string, K](maxKeys, nil), loading: map[string]*load[K]{}}
}

// SetClock replaces the clock (tests).
func (c *Cache[K]) SetClock(now func() time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = now
}

// OnUnlock registers fn, called (outside locks) whenever a tenant's key
// enters the cache.
func (c *Cache[K]) OnUnlock(fn func(tenant string)) { c.unlock = fn }

// Cached returns the tenant's key if it is in memory and not older than
// the TTL (an expired key is dropped).
func (c *Cache[K]) Cached(tenant string) (K, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cachedLocked(tenant)
}

func (c *Cache[K]) cachedLocked(tenant string) (K, bool) { return c.keys.Get(tenant, c.now()) }

// GetOrLoad returns the tenant's cached key, else joins the tenant's load
// in flight, else runs load (with ctx: it carries the principal keyvault
// unwraps for) and caches its key unless a Forget dropped it meanwhile
// (ErrDropped). A caller joining a load stops waiting when its ctx ends.
func (c *Cache[K]) GetOrLoad(ctx context.Context, tenant string, loadKey func(context.Context) (K, error)) (K, error) {
	c.mu.Lock()
	if k, ok := c.cachedLocked(tenant); ok {
		c.mu.Unlock()
		return k, nil
	}
	if l, ok := c.loading[tenant]; ok {
		c.mu.Unlock()
		select {
		case <-l.done:
			return l.key, l.err
		case <-ctx.Done():
			var zero K
			return zero, ctx.Err()
		}
	}
	l := &load[K]{done: make(chan struct{}), err: errLoadPanicked}
	c.loading[tenant] = l
	c.mu.Unlock()

	settled := false
	defer func() {
		if !settled { // loadKey panicked: release the waiters, keep nothing
			_, _ = c.settle(tenant, l, l.key, errLoadPanicked)
		}
	}()
	k, err := loadKey(ctx)
	settled = true
	k, err = c.settle(tenant, l, k, err)
	if err == nil && c.unlock != nil {
		c.unlock(tenant)
	}
	return k, err
}

// settle ends l: under the lock that Forget takes, a key Forget dropped
// meanwhile is refused (ErrDropped), any other is cached; then l's waiters
// get the outcome.
func (c *Cache[K]) settle(tenant string, l *load[K], k K, err error) (K, error) {
	var zero K
	c.mu.Lock()
	if c.loading[tenant] == l { // else a Forget let a newer load start
		delete(c.loading, tenant)
	}
	if err == nil && l.dropped {
		err = ErrDropped
	}
	if err != nil {
		k = zero
	} else {
		c.keys.Put(tenant, k, c.now().Add(c.ttl))
	}
	l.key, l.err = k, err
	c.mu.Unlock()
	close(l.done)
	return k, err
}

// Tenants lists the tenants whose keys are in memory and not older than
// the TTL.
func (c *Cache[K]) Tenants() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.keys.Keys(c.now())
}

// Forget drops a tenant's key at once (purge, shred): the cached one, and
// the one a load in flight is loading (its callers get ErrDropped). A
// later Get loads again.
func (c *Cache[K]) Forget(tenant string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keys.Remove(tenant)
	if l, ok := c.loading[tenant]; ok {
		l.dropped = true
		delete(c.loading, tenant)
	}
}

// ForgetAll drops every tenant's key as Forget drops one: when the shreds
// made meanwhile cannot be known (keyvault's WatchShreds answered RESYNC,
// ADR 0084).
func (c *Cache[K]) ForgetAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keys.Clear()
	for _, l := range c.loading {
		l.dropped = true
	}
	clear(c.loading)
}
