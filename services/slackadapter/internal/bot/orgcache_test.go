package bot

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

// TestOrgCache: a member is remembered for OrgCacheTTL, a non-member for
// the shorter OrgCacheNegativeTTL, and the least recently used entry goes
// first past the bound.
func TestOrgCache(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	for _, tt := range []struct {
		name   string
		own    bool
		after  time.Duration
		wantOK bool
	}{
		{"member within TTL", true, OrgCacheTTL - time.Second, true},
		{"member at TTL", true, OrgCacheTTL, false},
		{"non-member within negative TTL", false, OrgCacheNegativeTTL - time.Second, true},
		{"non-member at negative TTL", false, OrgCacheNegativeTTL, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := newOrgCache(4, time.Now, nil)
			c.put("k", tt.own, t0)
			own, ok := c.get("k", t0.Add(tt.after))
			require.Equal(t, tt.wantOK, ok)
			if ok {
				require.Equal(t, tt.own, own)
			} else {
				require.Zero(t, c.len(), "an expired entry is dropped when looked up")
			}
		})
	}

	c := newOrgCache(2, time.Now, nil)
	c.put("a", true, t0)
	c.put("b", true, t0)
	_, ok := c.get("a", t0) // a is now the most recently used
	require.True(t, ok)
	c.put("c", false, t0)
	require.Equal(t, 2, c.len())
	_, ok = c.get("b", t0)
	require.False(t, ok, "the least recently used entry was evicted")
	for _, k := range []string{"a", "c"} {
		_, ok = c.get(k, t0)
		require.True(t, ok, k)
	}
	// A new answer replaces the old one (and its TTL).
	c.put("a", false, t0)
	own, ok := c.get("a", t0)
	require.True(t, ok)
	require.False(t, own)
	require.NotEqual(t, orgCacheKey("t1", "T1", "E1", "U1"), orgCacheKey("t1", "T1", "E2", "U1"), "the organisation is part of the key")
}

// TestOrgCacheOneUsersInfoCallAtOnce: lookups of one uncached writer made
// at once share one users.info call and its outcome; a definite answer is
// remembered, a failure is not.
func TestOrgCacheOneUsersInfoCallAtOnce(t *testing.T) {
	errSlack := errors.New("users.info: ratelimited")
	for _, tt := range []struct {
		name       string
		own        bool
		err        error
		remembered bool
	}{
		{"member", true, nil, true},
		{"non-member", false, nil, true},
		{"failure", false, errSlack, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newOrgCache(4, time.Now, nil)
				release := make(chan struct{})
				var calls atomic.Int32
				ask := func(context.Context) (bool, error) {
					calls.Add(1)
					<-release
					return tt.own, tt.err
				}
				const writers = 8
				type result struct {
					own bool
					err error
				}
				results := make(chan result, writers)
				for range writers {
					go func() {
						own, err := c.lookup(t.Context(), "k", ask)
						results <- result{own, err}
					}()
				}
				synctest.Wait() // every lookup is in the call or waiting on it
				close(release)
				for range writers {
					r := <-results
					require.ErrorIs(t, r.err, tt.err)
					require.Equal(t, tt.own, r.own)
				}
				require.EqualValues(t, 1, calls.Load(), "one users.info call for all")
				_, err := c.lookup(t.Context(), "k", ask)
				require.ErrorIs(t, err, tt.err)
				want := int32(1)
				if !tt.remembered {
					want = 2
				}
				require.Equal(t, want, calls.Load())
			})
		})
	}
}

// TestOrgCacheWaiterStopsWithItsContext: a lookup waiting on another's
// users.info call returns when its own context ends; the call goes on and
// its answer is remembered.
func TestOrgCacheWaiterStopsWithItsContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newOrgCache(4, time.Now, nil)
		release := make(chan struct{})
		ask := func(context.Context) (bool, error) { <-release; return true, nil }
		first := make(chan error, 1)
		go func() {
			_, err := c.lookup(t.Context(), "k", ask)
			first <- err
		}()
		synctest.Wait()
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := c.lookup(ctx, "k", ask)
		require.ErrorIs(t, err, context.Canceled)
		close(release)
		require.NoError(t, <-first)
		own, ok := c.get("k", time.Now())
		require.True(t, ok)
		require.True(t, own)
	})
}

// TestOrgCacheMetrics: hits, misses and evictions are counted (no label
// names a user), and lookups follow the cache's clock: a non-member is
// asked again after OrgCacheNegativeTTL.
func TestOrgCacheMetrics(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	reg := prometheus.NewRegistry()
	c := newOrgCache(2, func() time.Time { return now }, reg)
	calls := 0
	answer := func(own bool) func(context.Context) (bool, error) {
		return func(context.Context) (bool, error) { calls++; return own, nil }
	}
	for _, k := range []string{"a", "b", "c"} { // c evicts a
		_, err := c.lookup(t.Context(), k, answer(false))
		require.NoError(t, err)
	}
	own, err := c.lookup(t.Context(), "c", answer(true))
	require.NoError(t, err)
	require.False(t, own, "remembered")
	now = now.Add(OrgCacheNegativeTTL)
	own, err = c.lookup(t.Context(), "c", answer(true))
	require.NoError(t, err)
	require.True(t, own, "a non-member is asked again after the negative TTL")
	require.Equal(t, 4, calls)
	require.InDelta(t, 1, testutil.ToFloat64(c.hits), 0)
	require.InDelta(t, 4, testutil.ToFloat64(c.misses), 0)
	require.InDelta(t, 1, testutil.ToFloat64(c.evictions), 0)
	n, err := testutil.GatherAndCount(reg, "rampart_slackadapter_org_cache_hits_total",
		"rampart_slackadapter_org_cache_misses_total", "rampart_slackadapter_org_cache_evictions_total")
	require.NoError(t, err)
	require.Equal(t, 3, n, "three unlabelled series")
}
