package authn

import (
	"crypto/sha256"
	"sync"
	"time"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/apikey"
	"github.com/rampart-platform/rampart/pkg/principal"
)

// cacheKey identifies a presented key: its public id plus the SHA-256 of
// the rest of the presented string (secret and checksum). The prefix is
// fixed and the id compared as it is, so two strings with the same cache
// key are the same string: two keys with the same id but different secrets
// have different cache keys, and a guessed secret never hits a verified
// entry. The digest covers the 49 bytes after the id rather than all 64:
// SHA-256 pads a message of up to 55 bytes into one 64-byte block and a
// longer one into two, so this is one compression instead of two (~2,200
// instructions per request, issue 15, ADR 0090), with the same collision
// resistance over the same set of strings.
type cacheKey struct {
	id  string
	sum [sha256.Size]byte
}

// digestFrom is where the digested part of a key starts: after the prefix
// and the id.
const digestFrom = len(apikey.Prefix) + apikey.IDLen

// cacheKeyOf is the cache key a presented string has if it is a key
// (apikey.Parse's id: the IDLen characters after the prefix), without
// checking it; false when it cannot be one (wrong length or prefix).
// apikey.Parse refuses every string of another length or prefix, so every
// key that parses has a cache key, with the id Parse returns
// (TestCacheKeyOfEveryParsedKey, FuzzCacheKeyOf).
func cacheKeyOf(presented string) (cacheKey, bool) {
	if len(presented) != apikey.Len || presented[:len(apikey.Prefix)] != apikey.Prefix {
		return cacheKey{}, false
	}
	// Hashed from a copy on the stack: []byte(presented) put the key's
	// bytes on the heap for every request (issue 15).
	var b [apikey.Len - digestFrom]byte
	copy(b[:], presented[digestFrom:])
	return cacheKey{id: presented[len(apikey.Prefix):digestFrom], sum: sha256.Sum256(b[:])}, true
}

// entry is one verified key.
type entry struct {
	principal *authv1.Principal
	assertion string
	fwd       map[string]principal.Forwarding // per backend service (ADR 0083)
	tenant    string
	stored    time.Time // when it was verified
	expires   time.Time // hard limit: auth's cache_until, assertion expiry, TTL
}

// cache is a bounded map of verified keys. Reads take a read lock only;
// eviction by key id or tenant is exact. When full, expired entries go
// first, then arbitrary ones (map order), which bounds memory without an
// LRU list on the hot path.
type cache struct {
	max int

	mu      sync.RWMutex
	entries map[cacheKey]*entry
	byID    map[string]map[cacheKey]struct{}
	epoch   uint64 // bumped on every eviction event, to drop racing inserts
}

func newCache(size int) *cache {
	if size <= 0 {
		size = 10000
	}
	return &cache{max: size, entries: map[cacheKey]*entry{}, byID: map[string]map[cacheKey]struct{}{}}
}

// get returns the entry if it is still valid at now with freshness ttl.
func (c *cache) get(k cacheKey, now time.Time, ttl time.Duration) (*entry, bool) {
	c.mu.RLock()
	e, ok := c.entries[k]
	c.mu.RUnlock()
	if !ok || !now.Before(e.expires) || now.Sub(e.stored) >= ttl {
		return nil, false
	}
	return e, true
}

// currentEpoch returns the eviction epoch; pass it to put.
func (c *cache) currentEpoch() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.epoch
}

// put stores e unless an eviction happened since epoch was read: a
// verification that raced a revocation must not be cached.
func (c *cache) put(k cacheKey, e *entry, epoch uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.epoch != epoch {
		return false
	}
	if _, exists := c.entries[k]; !exists && len(c.entries) >= c.max {
		c.shrinkLocked(e.stored)
	}
	c.entries[k] = e
	ids := c.byID[k.id]
	if ids == nil {
		ids = map[cacheKey]struct{}{}
		c.byID[k.id] = ids
	}
	ids[k] = struct{}{}
	return true
}

// shrinkLocked frees room for one entry: every expired entry, or else about
// a tenth of the cache.
func (c *cache) shrinkLocked(now time.Time) {
	for k, e := range c.entries {
		if !now.Before(e.expires) {
			c.deleteLocked(k)
		}
	}
	if len(c.entries) < c.max {
		return
	}
	drop := c.max/10 + 1
	for k := range c.entries {
		if drop == 0 {
			break
		}
		c.deleteLocked(k)
		drop--
	}
}

func (c *cache) deleteLocked(k cacheKey) {
	delete(c.entries, k)
	if ids := c.byID[k.id]; ids != nil {
		delete(ids, k)
		if len(ids) == 0 {
			delete(c.byID, k.id)
		}
	}
}

// evictKey drops every entry of a key id and returns how many went.
func (c *cache) evictKey(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	n := 0
	for k := range c.byID[id] {
		delete(c.entries, k)
		n++
	}
	delete(c.byID, id)
	return n
}

// evictTenant drops every entry of a tenant.
func (c *cache) evictTenant(tenant string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	n := 0
	for k, e := range c.entries {
		if e.tenant == tenant {
			c.deleteLocked(k)
			n++
		}
	}
	return n
}

// flush drops everything.
func (c *cache) flush() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	n := len(c.entries)
	c.entries = map[cacheKey]*entry{}
	c.byID = map[string]map[cacheKey]struct{}{}
	return n
}

func (c *cache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}
