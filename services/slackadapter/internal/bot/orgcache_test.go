package bot

import (
	"testing"
	"time"

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
			c := newOrgCache(4)
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

	c := newOrgCache(2)
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
