package tenantkey_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/pkg/tenantkey"
)

// key is what the tests cache: which load made it.
type key struct {
	tenant string
	// load is the loader's count when this load started.
	load int64
}

// loader counts loads; a gated loader's loads wait for the test (entered
// hands over each load's release channel).
type loader struct {
	n       atomic.Int64
	entered chan chan struct{}
	err     error
}

func (l *loader) load(tenant string) func(context.Context) (key, error) {
	return func(context.Context) (key, error) {
		n := l.n.Add(1)
		if l.entered != nil {
			release := make(chan struct{})
			l.entered <- release
			<-release
		}
		if l.err != nil {
			return key{}, l.err
		}
		return key{tenant: tenant, load: n}, nil
	}
}

func gated() *loader { return &loader{entered: make(chan chan struct{})} }

// TestCacheKeepsKeys: a cached key is used without loading; the LRU bound
// and the TTL end it; a failed load caches nothing; OnUnlock announces
// each key that enters.
func TestCacheKeepsKeys(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, c *tenantkey.Cache[key], l *loader, now *time.Time)
		// unlocked is how many keys entered the cache.
		unlocked int
	}{
		{"a hit does not load", func(t *testing.T, c *tenantkey.Cache[key], l *loader, _ *time.Time) {
			a1, err := c.GetOrLoad(ctx, "a", l.load("a"))
			require.NoError(t, err)
			a2, err := c.GetOrLoad(ctx, "a", l.load("a"))
			require.NoError(t, err)
			require.Equal(t, a1, a2)
			require.EqualValues(t, 1, l.n.Load())
		}, 1},
		{"the least recently used goes", func(t *testing.T, c *tenantkey.Cache[key], l *loader, _ *time.Time) {
			for _, tn := range []string{"a", "b"} {
				_, err := c.GetOrLoad(ctx, tn, l.load(tn))
				require.NoError(t, err)
			}
			_, ok := c.Cached("a") // a is now the most recent
			require.True(t, ok)
			_, err := c.GetOrLoad(ctx, "c", l.load("c"))
			require.NoError(t, err)
			require.ElementsMatch(t, []string{"a", "c"}, c.Tenants())
			_, ok = c.Cached("b")
			require.False(t, ok)
		}, 3},
		{"the TTL ends a key", func(t *testing.T, c *tenantkey.Cache[key], l *loader, now *time.Time) {
			_, err := c.GetOrLoad(ctx, "a", l.load("a"))
			require.NoError(t, err)
			*now = now.Add(time.Minute - time.Nanosecond)
			require.Equal(t, []string{"a"}, c.Tenants())
			*now = now.Add(time.Nanosecond)
			require.Empty(t, c.Tenants(), "an expired key is no tenant's")
			_, ok := c.Cached("a")
			require.False(t, ok)
			k, err := c.GetOrLoad(ctx, "a", l.load("a"))
			require.NoError(t, err)
			require.EqualValues(t, 2, k.load, "loaded again")
		}, 2},
		{"a failed load caches nothing", func(t *testing.T, c *tenantkey.Cache[key], l *loader, _ *time.Time) {
			l.err = errors.New("keyvault down")
			_, err := c.GetOrLoad(ctx, "a", l.load("a"))
			require.ErrorIs(t, err, l.err)
			l.err = nil
			_, ok := c.Cached("a")
			require.False(t, ok)
			_, err = c.GetOrLoad(ctx, "a", l.load("a"))
			require.NoError(t, err)
			require.EqualValues(t, 2, l.n.Load())
		}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tenantkey.NewCache[key](2, time.Minute)
			now := time.Now()
			c.SetClock(func() time.Time { return now })
			var unlocked []string
			c.OnUnlock(func(tenant string) { unlocked = append(unlocked, tenant) })
			l := &loader{}
			tc.run(t, c, l, &now)
			require.Len(t, unlocked, tc.unlocked, "each key cached is announced once")
		})
	}
}

// TestOneLoadPerTenant: callers of a tenant whose key is loading wait for
// that load and share its key; another tenant loads at once.
func TestOneLoadPerTenant(t *testing.T) {
	ctx := context.Background()
	c := tenantkey.NewCache[key](8, time.Minute)
	l := gated()
	const callers = 8
	got := make(chan key, callers)
	var wg sync.WaitGroup
	start := func() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := c.GetOrLoad(ctx, "a", l.load("a"))
			if err == nil {
				got <- k
			}
		}()
	}
	start()
	release := <-l.entered // the first caller's load is in flight
	for range callers - 1 {
		start()
	}
	other := make(chan error, 1)
	go func() { _, err := c.GetOrLoad(ctx, "b", l.load("b")); other <- err }()
	close(<-l.entered) // b's load does not wait for a's
	require.NoError(t, <-other)
	close(release)
	wg.Wait()
	close(got)
	require.Len(t, got, callers)
	for k := range got {
		require.Equal(t, key{tenant: "a", load: 1}, k)
	}
	require.EqualValues(t, 2, l.n.Load(), "one load of a, one of b")
}

// TestForgetDropsALoadInFlight: a Forget (purge, shred) or ForgetAll
// (RESYNC) that lands while a tenant's key loads leaves nothing cached;
// the load's caller and those waiting on it get ErrDropped
// (FailedPrecondition), nothing is announced, and the next Get loads
// again. Forgetting another tenant drops nothing.
func TestForgetDropsALoadInFlight(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		forget  func(*tenantkey.Cache[key])
		dropped bool
	}{
		{"Forget", func(c *tenantkey.Cache[key]) { c.Forget("a") }, true},
		{"ForgetAll", func(c *tenantkey.Cache[key]) { c.ForgetAll() }, true},
		{"Forget of another tenant", func(c *tenantkey.Cache[key]) { c.Forget("b") }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tenantkey.NewCache[key](8, time.Minute)
			var unlocked atomic.Int64
			c.OnUnlock(func(string) { unlocked.Add(1) })
			l := gated()
			first, waiter := make(chan error, 1), make(chan error, 1)
			go func() { _, err := c.GetOrLoad(ctx, "a", l.load("a")); first <- err }()
			release := <-l.entered // the key is loading
			go func() { _, err := c.GetOrLoad(ctx, "a", l.load("a")); waiter <- err }()
			tc.forget(c)
			close(release)
			errFirst := <-first
			if !tc.dropped {
				require.NoError(t, errFirst)
				require.NoError(t, <-waiter)
				_, ok := c.Cached("a")
				require.True(t, ok)
				return
			}
			require.ErrorIs(t, errFirst, tenantkey.ErrDropped)
			require.ErrorIs(t, errFirst, grpcerr.ErrFailedPrecondition)
			// The waiter either joined the dropped load or, arriving
			// after the Forget, ran its own.
			select {
			case err := <-waiter:
				require.ErrorIs(t, err, tenantkey.ErrDropped)
			case r := <-l.entered:
				close(r)
				require.NoError(t, <-waiter)
				c.Forget("a")
			}
			_, ok := c.Cached("a")
			require.False(t, ok, "the key loaded before the Forget is not cached")
			require.Empty(t, c.Tenants())
			unlockedBefore := unlocked.Load()

			go func() { close(<-l.entered) }()
			_, err := c.GetOrLoad(ctx, "a", l.load("a"))
			require.NoError(t, err, "the next Get loads again")
			require.Equal(t, unlockedBefore+1, unlocked.Load())
		})
	}
}

// TestForgetLetsANewLoadStart: a Get after Forget does not join the load
// that was dropped, and that load ending does not hide the new one from a
// second Forget.
func TestForgetLetsANewLoadStart(t *testing.T) {
	ctx := context.Background()
	c := tenantkey.NewCache[key](8, time.Minute)
	l := gated()
	first, second := make(chan error, 1), make(chan error, 1)
	go func() { _, err := c.GetOrLoad(ctx, "a", l.load("a")); first <- err }()
	releaseFirst := <-l.entered
	c.Forget("a")
	go func() { _, err := c.GetOrLoad(ctx, "a", l.load("a")); second <- err }()
	releaseSecond := <-l.entered // the second Get runs its own load
	close(releaseFirst)
	require.ErrorIs(t, <-first, tenantkey.ErrDropped)
	c.Forget("a") // lands while the second load is still in flight
	close(releaseSecond)
	require.ErrorIs(t, <-second, tenantkey.ErrDropped)
	_, ok := c.Cached("a")
	require.False(t, ok)
}

// TestWaiterStopsWithItsContext: a caller waiting on another's load
// returns when its own context ends; the load goes on and is cached.
func TestWaiterStopsWithItsContext(t *testing.T) {
	c := tenantkey.NewCache[key](8, time.Minute)
	l := gated()
	first := make(chan error, 1)
	go func() { _, err := c.GetOrLoad(context.Background(), "a", l.load("a")); first <- err }()
	release := <-l.entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.GetOrLoad(ctx, "a", l.load("a"))
	require.ErrorIs(t, err, context.Canceled)
	close(release)
	require.NoError(t, <-first)
	_, ok := c.Cached("a")
	require.True(t, ok)
}

// TestALoadThatPanicsReleasesItsWaiters: the panic reaches the caller
// whose load it was; those waiting get an error instead of hanging, and
// the next Get loads again.
func TestALoadThatPanicsReleasesItsWaiters(t *testing.T) {
	ctx := context.Background()
	c := tenantkey.NewCache[key](8, time.Minute)
	entered, release := make(chan struct{}), make(chan struct{})
	panicked := make(chan any, 1)
	go func() {
		defer func() { panicked <- recover() }()
		_, _ = c.GetOrLoad(ctx, "a", func(context.Context) (key, error) {
			close(entered)
			<-release
			panic("boom")
		})
	}()
	<-entered
	waiter := make(chan error, 1)
	go func() { _, err := c.GetOrLoad(ctx, "a", (&loader{}).load("a")); waiter <- err }()
	close(release)
	require.Equal(t, "boom", <-panicked)
	err := <-waiter // joined the load that panicked, or (late) ran its own
	if err != nil {
		require.ErrorContains(t, err, "load failed")
	}
	_, err = c.GetOrLoad(ctx, "a", (&loader{}).load("a"))
	require.NoError(t, err)
}

// TestNoKeyLoadedBeforeAForgetOutlivesIt races Gets against Forgets and
// ForgetAlls: right after a Forget returns, any key cached for the tenant
// came from a load that started after that Forget began.
func TestNoKeyLoadedBeforeAForgetOutlivesIt(t *testing.T) {
	for _, all := range []bool{false, true} {
		t.Run(fmt.Sprintf("ForgetAll=%v", all), func(t *testing.T) {
			ctx := context.Background()
			c := tenantkey.NewCache[key](8, time.Minute)
			var forgets atomic.Int64
			load := func(context.Context) (key, error) {
				return key{tenant: "a", load: forgets.Load()}, nil
			}
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-stop:
							return
						default:
						}
						_, err := c.GetOrLoad(ctx, "a", load)
						if err != nil && !errors.Is(err, tenantkey.ErrDropped) {
							panic(err)
						}
					}
				}()
			}
			for range 2000 {
				n := forgets.Add(1)
				if all {
					c.ForgetAll()
				} else {
					c.Forget("a")
				}
				if k, ok := c.Cached("a"); ok {
					require.GreaterOrEqual(t, k.load, n, "a key loaded before the Forget is cached after it")
				}
			}
			close(stop)
			wg.Wait()
		})
	}
}
