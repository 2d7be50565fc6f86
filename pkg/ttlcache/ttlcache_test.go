package ttlcache_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/ttlcache"
)

var t0 = time.Unix(1_800_000_000, 0)

// TestEachEntryItsOwnDeadline: an entry is returned strictly before its
// deadline, entries of different lifetimes live side by side, and an
// expired one is dropped when looked up.
func TestEachEntryItsOwnDeadline(t *testing.T) {
	for _, tt := range []struct {
		name   string
		ttl    time.Duration
		after  time.Duration
		wantOK bool
	}{
		{"just put", time.Minute, 0, true},
		{"within its TTL", time.Minute, time.Minute - time.Nanosecond, true},
		{"at its deadline", time.Minute, time.Minute, false},
		{"past its deadline", time.Minute, time.Hour, false},
		{"a long TTL", 5 * time.Minute, 4 * time.Minute, true},
		{"a deadline already past", -time.Second, 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := ttlcache.New[string, int](4, nil)
			c.Put("k", 7, t0.Add(tt.ttl))
			c.Put("other", 1, t0.Add(2*time.Hour)) // outlives every "k"
			v, ok := c.Get("k", t0.Add(tt.after))
			require.Equal(t, tt.wantOK, ok)
			if ok {
				require.Equal(t, 7, v)
				require.Equal(t, 2, c.Len())
			} else {
				require.Zero(t, v)
				require.Equal(t, 1, c.Len(), "the expired entry is dropped when looked up, the other kept")
			}
			_, ok = c.Get("other", t0.Add(tt.after))
			require.True(t, ok)
		})
	}
}

// TestLeastRecentlyUsedGoesFirst: past the bound the entry looked up or put
// longest ago is evicted, and only those evictions reach onEvict.
func TestLeastRecentlyUsedGoesFirst(t *testing.T) {
	for _, tt := range []struct {
		name    string
		ops     func(c *ttlcache.Cache[string, int])
		want    []string // keys kept, most recently used first
		evicted []string
	}{
		{"put order", func(c *ttlcache.Cache[string, int]) {
			c.Put("a", 1, t0.Add(time.Hour))
			c.Put("b", 2, t0.Add(time.Hour))
			c.Put("c", 3, t0.Add(time.Hour))
		}, []string{"c", "b"}, []string{"a"}},
		{"a Get makes it recent", func(c *ttlcache.Cache[string, int]) {
			c.Put("a", 1, t0.Add(time.Hour))
			c.Put("b", 2, t0.Add(time.Hour))
			c.Get("a", t0)
			c.Put("c", 3, t0.Add(time.Hour))
		}, []string{"c", "a"}, []string{"b"}},
		{"a new value replaces the old, no eviction", func(c *ttlcache.Cache[string, int]) {
			c.Put("a", 1, t0.Add(time.Hour))
			c.Put("b", 2, t0.Add(time.Hour))
			c.Put("a", 9, t0.Add(time.Hour))
		}, []string{"a", "b"}, nil},
		{"removed and cleared are no evictions", func(c *ttlcache.Cache[string, int]) {
			c.Put("a", 1, t0.Add(time.Hour))
			c.Put("b", 2, t0.Add(time.Hour))
			c.Remove("a")
			c.Remove("nothing")
			c.Clear()
			c.Put("c", 3, t0.Add(time.Hour))
		}, []string{"c"}, nil},
		{"an expired entry counts until dropped", func(c *ttlcache.Cache[string, int]) {
			c.Put("a", 1, t0)
			c.Put("b", 2, t0.Add(time.Hour))
			c.Put("c", 3, t0.Add(time.Hour))
		}, []string{"c", "b"}, []string{"a"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var evicted []string
			c := ttlcache.New(2, func(k string, _ int) { evicted = append(evicted, k) })
			tt.ops(c)
			require.Equal(t, tt.want, c.Keys(t0))
			require.Equal(t, tt.evicted, evicted)
			require.Equal(t, len(tt.want), c.Len())
		})
	}
}

// TestReplaceSetsTheNewDeadline: a new value brings its own deadline, a
// shorter one included.
func TestReplaceSetsTheNewDeadline(t *testing.T) {
	c := ttlcache.New[string, bool](4, nil)
	c.Put("u", true, t0.Add(5*time.Minute))
	c.Put("u", false, t0.Add(time.Minute))
	v, ok := c.Get("u", t0.Add(30*time.Second))
	require.True(t, ok)
	require.False(t, v)
	_, ok = c.Get("u", t0.Add(2*time.Minute))
	require.False(t, ok, "the replaced entry's longer deadline is gone")
}

// TestKeysSkipsExpired: Keys lists only live keys and drops nothing.
func TestKeysSkipsExpired(t *testing.T) {
	c := ttlcache.New[string, int](4, nil)
	c.Put("short", 1, t0.Add(time.Minute))
	c.Put("long", 2, t0.Add(time.Hour))
	require.Equal(t, []string{"long", "short"}, c.Keys(t0))
	require.Equal(t, []string{"long"}, c.Keys(t0.Add(time.Minute)))
	require.Equal(t, 2, c.Len())
	require.Empty(t, c.Keys(t0.Add(time.Hour)))
}

// TestBoundAtLeastOne: a bound below one holds one entry.
func TestBoundAtLeastOne(t *testing.T) {
	c := ttlcache.New[int, int](0, nil)
	c.Put(1, 1, t0.Add(time.Hour))
	c.Put(2, 2, t0.Add(time.Hour))
	require.Equal(t, []int{2}, c.Keys(t0))
}

// TestConcurrentUse: Get, Put, Remove and Keys from many goroutines keep
// the bound (run with -race).
func TestConcurrentUse(t *testing.T) {
	var evictions sync.Map
	c := ttlcache.New(16, func(k string, _ int) { evictions.Store(k, true) })
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				k := fmt.Sprint((g*7 + i) % 40)
				c.Put(k, i, t0.Add(time.Hour))
				c.Get(k, t0)
				if i%10 == 0 {
					c.Remove(k)
					c.Keys(t0)
				}
			}
		})
	}
	wg.Wait()
	require.LessOrEqual(t, c.Len(), 16)
	n := 0
	evictions.Range(func(any, any) bool { n++; return true })
	require.Positive(t, n)
}
