package ttlcache

import (
	"container/list"
	"sync"
	"time"
)

// Cache holds at most maxEntries values, each until its own deadline. It is
// safe for concurrent use.
type Cache[K comparable, V any] struct {
	max     int
	onEvict func(K, V)

	mu    sync.Mutex
	items map[K]*list.Element // of *entry[K, V]
	lru   *list.List          // most recently used first
}

type entry[K comparable, V any] struct {
	key   K
	val   V
	until time.Time
}

// New returns a cache of at most maxEntries entries (at least one). onEvict,
// when not nil, is called with each entry dropped to respect the bound (not
// for expired, removed or cleared ones), under the cache's lock: it must
// not call the cache (a metric's Inc is what it is for).
func New[K comparable, V any](maxEntries int, onEvict func(K, V)) *Cache[K, V] {
	return &Cache[K, V]{max: max(maxEntries, 1), onEvict: onEvict, items: map[K]*list.Element{}, lru: list.New()}
}

// Get returns key's value if its deadline is after now, and makes it the
// most recently used entry. An entry past its deadline is dropped.
func (c *Cache[K, V]) Get(key K, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		var zero V
		return zero, false
	}
	e := entryOf[K, V](el)
	if !now.Before(e.until) {
		c.lru.Remove(el)
		delete(c.items, key)
		var zero V
		return zero, false
	}
	c.lru.MoveToFront(el)
	return e.val, true
}

// Put sets key's value until the deadline, replacing any value it had, as
// the most recently used entry; the least recently used entries beyond the
// bound are evicted.
func (c *Cache[K, V]) Put(key K, val V, until time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		el.Value = &entry[K, V]{key: key, val: val, until: until}
		c.lru.MoveToFront(el)
		return
	}
	c.items[key] = c.lru.PushFront(&entry[K, V]{key: key, val: val, until: until})
	for c.lru.Len() > c.max {
		old := entryOf[K, V](c.lru.Back())
		c.lru.Remove(c.lru.Back())
		delete(c.items, old.key)
		if c.onEvict != nil {
			c.onEvict(old.key, old.val)
		}
	}
}

// Remove drops key's entry, if any.
func (c *Cache[K, V]) Remove(key K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		c.lru.Remove(el)
		delete(c.items, key)
	}
}

// Clear drops every entry.
func (c *Cache[K, V]) Clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.items)
	c.lru.Init()
}

// Len is the number of entries held, expired ones not yet dropped included.
func (c *Cache[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// Keys lists the keys whose deadline is after now, most recently used
// first (it drops nothing and marks nothing used).
func (c *Cache[K, V]) Keys(now time.Time) []K {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]K, 0, c.lru.Len())
	for el := c.lru.Front(); el != nil; el = el.Next() {
		if e := entryOf[K, V](el); now.Before(e.until) {
			out = append(out, e.key)
		}
	}
	return out
}

// entryOf returns the entry an element holds (the list holds only
// *entry[K, V]).
func entryOf[K comparable, V any](el *list.Element) *entry[K, V] {
	e, _ := el.Value.(*entry[K, V])
	return e
}
