package keyring_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	"github.com/rampart-platform/rampart/pkg/grpcerr"

	"github.com/rampart-platform/rampart/pkg/keyvaulttest"
	"github.com/rampart-platform/rampart/pkg/tenantevents"
	"github.com/rampart-platform/rampart/services/ingestion/internal/keyring"
	"github.com/rampart-platform/rampart/services/ingestion/internal/store"
)

func newRing(t *testing.T, maxKeys int) (*keyring.Ring, *keyvaulttest.KMS, *store.Store) {
	t.Helper()
	st, err := store.Open(context.Background(), t.TempDir()+"/k.db")
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	k := keyvaulttest.NewKMS()
	return keyring.New(keyvaulttest.Direct{K: k}, st, maxKeys, time.Minute), k, st
}

func TestSealOpen(t *testing.T) {
	r, _, _ := newRing(t, 8)
	ctx := context.Background()
	a, err := r.Get(ctx, "a", true)
	require.NoError(t, err)
	b, err := r.Get(ctx, "b", true)
	require.NoError(t, err)

	sealed := a.Seal("text", "doc:1", []byte("hello"))
	require.NotContains(t, string(sealed), "hello")
	pt, err := a.Open("text", "doc:1", sealed)
	require.NoError(t, err)
	require.Equal(t, "hello", string(pt))
	for _, tc := range []struct {
		name     string
		key      *keyring.Key
		kind, id string
		data     []byte
	}{
		{"other tenant", b, "text", "doc:1", sealed},
		{"other kind", a, "vector", "doc:1", sealed},
		{"other id", a, "text", "doc:2", sealed},
		{"truncated", a, "text", "doc:1", sealed[:10]},
		{"flipped", a, "text", "doc:1", append(append([]byte{}, sealed[:len(sealed)-1]...), sealed[len(sealed)-1]^1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.key.Open(tc.kind, tc.id, tc.data)
			require.ErrorIs(t, err, keyring.ErrCorrupt)
		})
	}
	require.NotEqual(t, a.MAC([]byte("x")), b.MAC([]byte("x")), "content hashes are tenant-keyed")
	require.Equal(t, a.MAC([]byte("x")), a.MAC([]byte("x")))
}

func TestKeyLifecycle(t *testing.T) {
	r, k, st := newRing(t, 2)
	ctx := context.Background()
	_, err := r.Get(ctx, "a", false)
	require.ErrorIs(t, err, keyring.ErrNoKey)
	a1, err := r.Get(ctx, "a", true)
	require.NoError(t, err)
	require.EqualValues(t, 1, k.Generated.Load())
	wk, err := st.TenantKey(ctx, "a")
	require.NoError(t, err)
	require.Len(t, wk.Blob, 12+32+16, "only the wrapped key is stored")
	sealed := a1.Seal("k", "i", []byte("v"))

	// evicted by two other tenants (bound 2), then unwrapped again
	for _, tn := range []string{"b", "c"} {
		_, err := r.Get(ctx, tn, true)
		require.NoError(t, err)
	}
	_, cached := r.Cached("a")
	require.False(t, cached)
	require.ElementsMatch(t, []string{"b", "c"}, r.Tenants(), "the tenants whose jobs this replica can open")
	unlocked := ""
	r.OnUnlock(func(t string) { unlocked = t })
	a2, err := r.Get(ctx, "a", false)
	require.NoError(t, err)
	require.Equal(t, "a", unlocked)
	require.EqualValues(t, 1, k.Decrypted.Load())
	pt, err := a2.Open("k", "i", sealed)
	require.NoError(t, err)
	require.Equal(t, "v", string(pt))

	// the TTL bounds how long a cached key is used without asking keyvault
	now := time.Now()
	r.SetClock(func() time.Time { return now })
	_, cached = r.Cached("a")
	require.True(t, cached)
	require.Contains(t, r.Tenants(), "a")
	r.SetClock(func() time.Time { return now.Add(2 * time.Minute) })
	require.Empty(t, r.Tenants(), "expired keys open no jobs")
	_, cached = r.Cached("a")
	require.False(t, cached, "expired")
	k.Shred("b")
	_, err = r.Get(ctx, "b", false)
	require.ErrorIs(t, err, keyvaulttest.ErrShredded, "a shred is seen once the TTL ran out")
	r.SetClock(time.Now)

	// shredded: gone once forgotten
	k.Shred("a")
	r.Forget("a")
	_, err = r.Get(ctx, "a", false)
	require.ErrorIs(t, err, keyvaulttest.ErrShredded)
}

// gatedRing is a cold ring over a store that already holds tenant a's
// wrapped key, whose unwraps wait for the test.
func gatedRing(t *testing.T) (*keyring.Ring, keyvaulttest.Gated) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir()+"/k.db")
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	k := keyvaulttest.NewKMS()
	_, err = keyring.New(keyvaulttest.Direct{K: k}, st, 8, time.Minute).Get(ctx, "a", true)
	require.NoError(t, err)
	g := keyvaulttest.NewGated(k)
	return keyring.New(g, st, 8, time.Minute), g
}

// TestForgetDropsAKeyBeingLoaded: a purge (Forget) that lands while a
// request is unwrapping the tenant's key leaves nothing cached: the
// request fails with ErrDropped (FailedPrecondition) instead of caching a
// key keyvault unwrapped before the purge, and the next Get asks keyvault
// again.
func TestForgetDropsAKeyBeingLoaded(t *testing.T) {
	ctx := context.Background()
	r, g := gatedRing(t)
	unlocked := 0
	r.OnUnlock(func(string) { unlocked++ })

	done := make(chan error, 1)
	go func() {
		_, err := r.Get(ctx, "a", false)
		done <- err
	}()
	release := <-g.Entered // the key is being unwrapped
	r.Forget("a")
	close(release)
	err := <-done
	require.ErrorIs(t, err, keyring.ErrDropped)
	require.Equal(t, codes.FailedPrecondition, grpcerr.Code(err))
	_, cached := r.Cached("a")
	require.False(t, cached, "the key unwrapped before the purge is not cached")
	require.Empty(t, r.Tenants(), "no job of the tenant can open")
	require.Zero(t, unlocked, "the tenant was not announced as unlocked")

	// A later Get unwraps again (keyvault decides; here it still may).
	go func() { close(<-g.Entered) }()
	_, err = r.Get(ctx, "a", false)
	require.NoError(t, err)
	_, cached = r.Cached("a")
	require.True(t, cached)
	require.Equal(t, 1, unlocked)
}

// The ring is what ingestion's shred watcher drops keys from.
var _ tenantevents.KeyCache = (*keyring.Ring)(nil)

// TestShredDropsTheKeyAtOnce (ADR 0084): after a crypto-shred made in
// keyvault alone, the cached key would still open the tenant's data for
// the rest of its TTL; the shred watcher's Forget ends that at once (the
// next Get asks keyvault, which refuses), and the other tenants keep their
// keys. ForgetAll (a RESYNC) drops every key, and a load in flight with
// it.
func TestShredDropsTheKeyAtOnce(t *testing.T) {
	r, k, _ := newRing(t, 8)
	ctx := context.Background()
	a, err := r.Get(ctx, "a", true)
	require.NoError(t, err)
	_, err = r.Get(ctx, "b", true)
	require.NoError(t, err)
	sealed := a.Seal("text", "doc:1", []byte("hello"))

	k.Shred("a")
	stale, err := r.Get(ctx, "a", false)
	require.NoError(t, err, "without the event the cached key is still used (the TTL's bound)")
	_, err = stale.Open("text", "doc:1", sealed)
	require.NoError(t, err)

	r.Forget("a") // what the shred watcher does on SHREDDED
	_, err = r.Get(ctx, "a", false)
	require.ErrorIs(t, err, keyvaulttest.ErrShredded, "keyvault is asked again and refuses")
	_, cached := r.Cached("a")
	require.False(t, cached)
	require.ElementsMatch(t, []string{"b"}, r.Tenants(), "other tenants keep their keys")

	r.ForgetAll() // RESYNC
	_, cached = r.Cached("b")
	require.False(t, cached)
	require.Empty(t, r.Tenants())
	_, err = r.Get(ctx, "b", false)
	require.NoError(t, err, "b's key is unwrapped again")
}
