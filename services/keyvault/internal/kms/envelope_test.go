package kms_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/keyvault/internal/kms"
)

// countingProvider counts unwraps.
type countingProvider struct {
	kms.Provider
	unwraps atomic.Int64
}

func (c *countingProvider) Decrypt(ctx context.Context, tenant string, wrapped []byte, encCtx map[string]string) ([]byte, string, error) {
	c.unwraps.Add(1)
	return c.Provider.Decrypt(ctx, tenant, wrapped, encCtx)
}

// Data keys are unwrapped once and reused while cached; past the bound,
// after Forget and after a shred they are unwrapped again (or refused).
func TestEnvelopeKeyCache(t *testing.T) {
	ctx := t.Context()
	local, st := openLocal(t, t.TempDir())
	p := &countingProvider{Provider: local}
	e := kms.NewEnvelope(p, st)
	kms.SetMaxCachedKeys(e, 2)

	type sealed struct {
		tenant, dek string
		ct          []byte
	}
	var all []sealed
	for _, tenant := range []string{"t1", "t2", "t3"} {
		ct, id, err := e.Seal(ctx, tenant, "s", "v", []byte("value of "+tenant))
		require.NoError(t, err)
		all = append(all, sealed{tenant, id, ct})
	}
	require.LessOrEqual(t, kms.CachedKeys(e), 2, "bounded")
	for _, s := range all {
		pt, err := e.Open(ctx, s.tenant, "s", "v", s.dek, s.ct)
		require.NoError(t, err, "evicted keys are unwrapped again")
		require.Equal(t, "value of "+s.tenant, string(pt))
	}

	before := p.unwraps.Load()
	for range 10 {
		_, err := e.Open(ctx, "t3", "s", "v", all[2].dek, all[2].ct)
		require.NoError(t, err)
	}
	require.LessOrEqual(t, p.unwraps.Load()-before, int64(1), "a cached key is not unwrapped per read")

	e.Forget("t3")
	before = p.unwraps.Load()
	_, err := e.Open(ctx, "t3", "s", "v", all[2].dek, all[2].ct)
	require.NoError(t, err)
	require.Equal(t, int64(1), p.unwraps.Load()-before, "forgotten: unwrapped again")

	require.NoError(t, e.Shred(ctx, "t3"))
	_, err = e.Open(ctx, "t3", "s", "v", all[2].dek, all[2].ct)
	require.ErrorIs(t, err, kms.ErrShredded, "no cached key survives a shred")
}

// countingDEKStore counts reads of a tenant's current data key.
type countingDEKStore struct {
	kms.DEKStore
	current atomic.Int64
}

func (c *countingDEKStore) CurrentDEK(ctx context.Context, tenant string) (string, []byte, bool, error) {
	c.current.Add(1)
	return c.DEKStore.CurrentDEK(ctx, tenant)
}

// Seal runs inside a write transaction and must not read the store for a
// cached key, however old: on SQLite that read waited for a pooled
// connection held by transactions queued behind the caller's write lock
// (5 s, then SQLITE_BUSY). EnsureKey, before the transaction, re-checks
// a key older than KeyCacheTTL.
func TestSealReadsNoStoreForACachedKey(t *testing.T) {
	ctx := t.Context()
	local, st := openLocal(t, t.TempDir())
	ds := &countingDEKStore{DEKStore: st}
	e := kms.NewEnvelope(local, ds)

	require.NoError(t, e.EnsureKey(ctx, "t1"))
	reads := ds.current.Load()
	require.Positive(t, reads)
	time.Sleep(kms.KeyCacheTTL)
	_, _, err := e.Seal(ctx, "t1", "s1", "v1", []byte("x"))
	require.NoError(t, err)
	require.Equal(t, reads, ds.current.Load(), "Seal used the cached key")
	require.NoError(t, e.EnsureKey(ctx, "t1"))
	require.Greater(t, ds.current.Load(), reads, "EnsureKey re-checked a key older than KeyCacheTTL")
}
