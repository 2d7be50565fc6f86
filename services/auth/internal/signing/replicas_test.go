package signing_test

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/principal"
	"github.com/rampart-platform/rampart/pkg/store/pgtest"
	"github.com/rampart-platform/rampart/services/auth/internal/signing"
	"github.com/rampart-platform/rampart/services/auth/internal/store"
)

// TestRotationOnceAcrossReplicas (ADR 0095): auth replicas sharing a
// database find the rotation due at about the same minute, each from the
// keys it last loaded; one new key is made, not one per replica, and every
// replica signs with it after its refresh.
func TestRotationOnceAcrossReplicas(t *testing.T) {
	for _, tt := range []struct {
		name       string
		open       func(t *testing.T) *store.DB
		concurrent bool
	}{
		{"sqlite, one after the other", openSQLite, false},
		{"postgres, one after the other", openPostgres, false},
		{"postgres, at once", openPostgres, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			db := tt.open(t)
			kek, err := signing.LoadKEK(filepath.Join(t.TempDir(), "kek"))
			require.NoError(t, err)
			var mu sync.Mutex
			now := time.Now()
			clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			var replicas []*signing.Manager
			for range 3 {
				m, err := signing.New(t.Context(), db, kek, clock, time.Hour)
				require.NoError(t, err)
				replicas = append(replicas, m)
			}
			first := replicas[0].Signer().KID()
			for _, m := range replicas {
				require.Equal(t, first, m.Signer().KID(), "one key at the first start")
			}

			mu.Lock()
			now = now.Add(time.Hour + time.Minute)
			mu.Unlock()
			var wg sync.WaitGroup
			errs := make([]error, len(replicas))
			for i, m := range replicas {
				if tt.concurrent {
					wg.Go(func() { errs[i] = m.MaybeRotate(t.Context()) })
				} else {
					errs[i] = m.MaybeRotate(t.Context()) // each from the keys it loaded before
				}
			}
			wg.Wait()
			for _, err := range errs {
				require.NoError(t, err)
			}
			keys, err := db.Q().SigningKeys(t.Context(), clock())
			require.NoError(t, err)
			require.Len(t, keys, 2, "the old key and one new one")
			for _, m := range replicas {
				require.NoError(t, m.Refresh(t.Context()))
				require.Equal(t, keys[0].KID, m.Signer().KID())
			}
		})
	}
}

func openSQLite(t *testing.T) *store.DB {
	db, err := store.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "auth.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func openPostgres(t *testing.T) *store.DB {
	db, err := store.OpenPostgres(t.Context(), pgtest.Start(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// TestAnotherReplicasNewKeyVerifies (ADR 0134): replica A rotates and
// signs with its new key at once; replica B, which loaded the keys before
// (it refreshes every minute), must verify A's assertions and publish A's
// key to a service that asks it (GetSigningKeys: a backend that meets the
// new kid asks any auth replica). Before, B refused the assertions and
// published its old set until its next refresh, up to a minute.
func TestAnotherReplicasNewKeyVerifies(t *testing.T) {
	db := openPostgres(t)
	kek, err := signing.LoadKEK(filepath.Join(t.TempDir(), "kek"))
	require.NoError(t, err)
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	a, err := signing.New(t.Context(), db, kek, clock, time.Hour)
	require.NoError(t, err)
	b, err := signing.New(t.Context(), db, kek, clock, time.Hour)
	require.NoError(t, err)
	old := a.Signer().KID()
	require.Equal(t, old, b.Signer().KID())

	mu.Lock()
	now = now.Add(time.Hour + time.Minute)
	mu.Unlock()
	require.NoError(t, a.MaybeRotate(t.Context()))
	kid := a.Signer().KID()
	require.NotEqual(t, old, kid, "A signs with its new key")

	tok, err := a.Signer().Sign(&authv1.Principal{TenantId: "t1", Subject: "u1", KeyId: "k1"}, time.Time{})
	require.NoError(t, err)
	p, err := principal.NewVerifier(b).Verify(tok)
	require.NoError(t, err, "B verifies an assertion A signed with its new key")
	require.Equal(t, "t1", p.GetTenantId())

	var published []string
	for _, k := range b.CurrentPublicKeys(t.Context()) {
		published = append(published, k.KID)
	}
	require.Equal(t, []string{kid, old}, published, "B publishes A's new key, newest first")

	_, ok := b.PublicKey("sk-forged")
	require.False(t, ok, "a kid nobody made is still refused")
}
