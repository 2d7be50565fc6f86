package bot

import (
	"container/list"
	"sync"
	"time"
)

// How long ownOrg's answer (users.info, ADR 0097 §3) is reused for one
// writer of an org-wide installation. A member is trusted for OrgCacheTTL:
// a user leaving the organisation may be answered that long after (a
// deactivated one cannot post at all). A non-member is remembered
// shorter, so a user just added to the organisation waits at most
// OrgCacheNegativeTTL. Failures are not remembered: they are refused and
// asked again on the next message.
const (
	OrgCacheTTL         = 5 * time.Minute
	OrgCacheNegativeTTL = time.Minute
	// OrgCacheMaxEntries bounds the cache: its keys are chosen by whoever
	// writes in a shared channel (about 100 bytes each).
	OrgCacheMaxEntries = 10_000
)

// orgCache is an LRU of ownOrg answers by installation and user, each
// until its expiry; a conversation in a Slack Connect channel then costs
// one users.info call per TTL instead of one per message.
type orgCache struct {
	max int

	mu    sync.Mutex
	items map[string]*list.Element // of *orgEntry
	lru   *list.List
}

type orgEntry struct {
	key   string
	own   bool
	until time.Time
}

func newOrgCache(maxEntries int) *orgCache {
	return &orgCache{max: maxEntries, items: map[string]*list.Element{}, lru: list.New()}
}

// orgCacheKey names one writer of one installation: the answer compares
// the user's organisation with the installation's.
func orgCacheKey(tenant, team, enterprise, user string) string {
	return tenant + "\x00" + team + "\x00" + enterprise + "\x00" + user
}

// get returns the remembered answer for key, if it has not expired at now.
func (c *orgCache) get(key string, now time.Time) (own, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, found := c.items[key]
	if !found {
		return false, false
	}
	e := orgEntryOf(el)
	if !now.Before(e.until) {
		c.lru.Remove(el)
		delete(c.items, key)
		return false, false
	}
	c.lru.MoveToFront(el)
	return e.own, true
}

// put remembers own for key from now on (OrgCacheTTL for a member,
// OrgCacheNegativeTTL otherwise), evicting the least recently used
// entries beyond the bound.
func (c *orgCache) put(key string, own bool, now time.Time) {
	ttl := OrgCacheNegativeTTL
	if own {
		ttl = OrgCacheTTL
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, found := c.items[key]; found {
		c.lru.Remove(el)
	}
	c.items[key] = c.lru.PushFront(&orgEntry{key: key, own: own, until: now.Add(ttl)})
	for c.lru.Len() > c.max {
		oldest := c.lru.Back()
		c.lru.Remove(oldest)
		delete(c.items, orgEntryOf(oldest).key)
	}
}

// orgEntryOf returns the entry an LRU element holds (the list holds only
// *orgEntry).
func orgEntryOf(el *list.Element) *orgEntry {
	e, _ := el.Value.(*orgEntry)
	return e
}

// len is the number of entries held (expired ones until looked up or
// evicted).
func (c *orgCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}
