package store

import (
	"context"
	"database/sql"
	"slices"
	"sync"
	"sync/atomic"
)

// readCache keeps the rows ReadValue returned — secret metadata, the
// selected version's sealed value and labels; never a plaintext — so a
// repeated read of an unchanged secret skips SQLite (a quarter of
// keyvault's CPU per read in the profile of issue 15).
//
// Every write this process makes bumps the generation: InTx after its
// commit, and every statement executed on the pool outside a transaction
// after it ran. An entry is served only while the generation it was read
// under is still current, so after any write all entries are stale at
// once. A read racing a commit stores its row under the generation it
// started with, which the commit's bump has already retired or is about to
// (the writer has not been acknowledged before its bump).
//
// This is only sound when this process makes every write to the database:
// SQLite, whose file one keyvault process owns (OpenOwned enforces it).
// On PostgreSQL other replicas write the same tables and the cache is off.
type readCache struct {
	gen atomic.Uint64
	mu  sync.RWMutex
	m   map[readKey]cachedRead
}

// maxCachedReads bounds the cache; when full it is emptied (a write
// empties it logically anyway) and fills again from reads.
const maxCachedReads = 4096

type readKey struct{ tenant, name, versionID, stage string }

type cachedRead struct {
	gen uint64
	v   ValueRead
}

func newReadCache() *readCache { return &readCache{m: map[readKey]cachedRead{}} }

// generation returns the current generation (nil cache: 0).
func (c *readCache) generation() uint64 {
	if c == nil {
		return 0
	}
	return c.gen.Load()
}

// bump retires every entry.
func (c *readCache) bump() {
	if c != nil {
		c.gen.Add(1)
	}
}

// get returns a copy of the current entry for k.
func (c *readCache) get(k readKey) (ValueRead, bool) {
	if c == nil {
		return ValueRead{}, false
	}
	g := c.gen.Load()
	c.mu.RLock()
	e, ok := c.m[k]
	c.mu.RUnlock()
	if !ok || e.gen != g {
		return ValueRead{}, false
	}
	return e.v.clone(), true
}

// put stores a copy of v as read under generation g (unless g is already
// retired).
func (c *readCache) put(k readKey, g uint64, v ValueRead) {
	if c == nil || c.gen.Load() != g {
		return
	}
	v = v.clone()
	c.mu.Lock()
	if len(c.m) >= maxCachedReads {
		clear(c.m)
	}
	c.m[k] = cachedRead{gen: g, v: v}
	c.mu.Unlock()
}

// clone copies the slices, so neither the cache nor a caller sees the
// other's changes.
func (v ValueRead) clone() ValueRead {
	v.Labels = slices.Clone(v.Labels)
	v.Version.Ciphertext = slices.Clone(v.Version.Ciphertext)
	return v
}

// bumpingQuerier is the pool querier of a cached store: statements run
// outside a transaction retire the cache once they have run.
type bumpingQuerier struct {
	querier
	c *readCache
}

func (b bumpingQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	defer b.c.bump()
	return b.querier.ExecContext(ctx, query, args...)
}
