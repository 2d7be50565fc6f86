package keys_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/store/pgtest"

	"github.com/rampart-platform/rampart/services/auth/internal/events"
	"github.com/rampart-platform/rampart/services/auth/internal/keys"
	"github.com/rampart-platform/rampart/services/auth/internal/store"
)

// TestSweepExpiresEachKeyOnceAcrossReplicas: two auth replicas on one
// PostgreSQL sweep at the same moment. Each due key expires once: one
// KEY_EXPIRED event and one audit record, whichever replica wins (ADR
// 0072); before, both replicas expired the keys both had listed. Each
// deleted tenant past its grace is purged once, and neither sweep fails.
func TestSweepExpiresEachKeyOnceAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	url := pgtest.Start(t)
	open := func() *store.DB {
		db, err := store.OpenPostgres(ctx, url)
		require.NoError(t, err)
		t.Cleanup(func() { _ = db.Close() })
		return db
	}
	db := open()
	require.NoError(t, db.Q().InsertTenant(ctx, store.Tenant{ID: "t_a", Name: "a", State: store.TenantActive, CreatedAt: t0, UpdatedAt: t0}))
	const n, purged = 300, 20
	for i := range purged {
		require.NoError(t, db.Q().InsertTenant(ctx, store.Tenant{ID: fmt.Sprintf("t_del%02d", i), Name: "d", State: store.TenantDeleted,
			CreatedAt: t0, UpdatedAt: t0, DeletedAt: t0, PurgeAt: t0.Add(time.Minute)}))
	}
	for i := range n {
		require.NoError(t, db.Q().InsertKey(ctx, store.Key{ID: fmt.Sprintf("K%011d", i), TenantID: "t_a", Salt: []byte("s"), Hash: []byte("h"),
			Name: "k", Subject: "ann@example.com", Scopes: []string{"chat:write"}, State: store.KeyActive, CreatedAt: t0,
			ExpiresAt: t0.Add(time.Minute), CreatedBy: "test"}))
	}
	now := func() time.Time { return t0.Add(time.Hour) }
	replicas := make([]*keys.Service, 2)
	for i := range replicas {
		s, err := keys.New(ctx, open(), nil, events.NewHub(), keys.Options{Now: now})
		require.NoError(t, err)
		replicas[i] = s
	}

	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make([]error, len(replicas))
	for i, s := range replicas {
		wg.Go(func() {
			<-start
			_, errs[i] = s.Sweep(ctx)
		})
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err, "racing replicas both sweep without error")
	}
	for _, s := range replicas {
		_, err := s.Sweep(ctx) // whatever one replica left, the next round takes
		require.NoError(t, err)
	}

	evs, err := db.Q().EventsAfter(ctx, 0, 10*n)
	require.NoError(t, err)
	perKey, perTenant := map[string]int{}, map[string]int{}
	for _, e := range evs {
		switch e.Kind {
		case store.EventKeyExpired:
			perKey[e.KeyID]++
		case store.EventTenantPurged:
			perTenant[e.TenantID]++
		default:
			t.Fatalf("unexpected event %q", e.Kind)
		}
	}
	require.Len(t, perTenant, purged, "every tenant due purged")
	for id, c := range perTenant {
		require.Equal(t, 1, c, "tenant %s purged %d times", id, c)
	}
	require.Len(t, perKey, n, "every due key expired")
	for id, c := range perKey {
		require.Equal(t, 1, c, "key %s expired %d times", id, c)
	}
	audit, err := db.Q().ListAudit(ctx, "t_a", 0, 10*n)
	require.NoError(t, err)
	require.Len(t, audit, n, "one key.expire record per key")
}
