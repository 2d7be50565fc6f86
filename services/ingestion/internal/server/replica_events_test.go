package server_test

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	ingestionv1 "github.com/rampart-platform/rampart/gen/go/rampart/ingestion/v1"
	"github.com/rampart-platform/rampart/pkg/authtest"
	"github.com/rampart-platform/rampart/pkg/grpctest"
	"github.com/rampart-platform/rampart/pkg/pki/pkitest"
	"github.com/rampart-platform/rampart/pkg/store/pgtest"
	"github.com/rampart-platform/rampart/pkg/tenantevents"
)

// TestTenantEventsReachEveryReplica (ADR 0134): two ingestion replicas on
// one PostgreSQL keep the tenant-event stream's cursor in one shared row.
// Replica 2's stream is down while replica 1 handles a suspension and a
// purge and moves that row past them; when replica 2 reconnects it must
// still be told of both, for what it holds itself: the suspended tenant's
// data key (dropped, so its jobs wait, ADR 0115) and the purged tenant's
// search index on its own disk (deleted). Before, replica 2 resumed after
// the shared cursor and kept both until the key's TTL, the index for ever.
func TestTenantEventsReachEveryReplica(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	h := newHarness(t, opts{databaseURL: pgtest.Start(t)})
	r2 := h.replica(t)
	c1, c2 := h.client(t, "edge"), r2.client(t, "edge")

	dir, _ := pkitest.NewDir(t, "auth", "ingestion")
	fa := authtest.Start(t, dir)
	fa.EndTenantStreamsWhenCaughtUp(true) // a session ends once caught up: the stream going down
	conn := grpctest.Dial(t, dir, "ingestion", fa.Addr, "auth")
	watcher := func(r *harness) *tenantevents.Watcher {
		w := tenantevents.New(authv1.NewAuthServiceClient(conn), r.app.Service.Purge, r.app.Store, slog.New(slog.DiscardHandler))
		w.Suspended = r.app.Service.SuspendTenant
		return w
	}
	w1, w2 := watcher(h), watcher(r2)
	session := func(w *tenantevents.Watcher) {
		t.Helper()
		_, err := w.Session(context.Background())
		require.ErrorContains(t, err, "stream closed")
	}
	fa.PublishTenantEvent(authv1.TenantEventKind_TENANT_EVENT_KIND_CREATED, "tenant-a")
	session(w1)
	session(w2) // both replicas caught up at cursor 1

	// Both replicas hold each tenant's key and its index of "kb" (each
	// searched there; the index reaches the disk within a second).
	for _, tenant := range []string{"tenant-a", "tenant-b"} {
		ctx := h.ctx(t, tenant)
		_, err := c1.CreateCollection(ctx, &ingestionv1.CreateCollectionRequest{Name: "kb"})
		require.NoError(t, err)
		h.ingest(t, c1, tenant, "kb", "ships.txt", "text/plain", "The harbour master logs every schooner that docks at the northern quay.")
		for _, c := range []ingestionv1.IngestionServiceClient{c1, c2} {
			res, err := c.Search(ctx, &ingestionv1.SearchRequest{Collection: "kb", Query: "schooner quay", TopK: 5})
			require.NoError(t, err)
			require.Equal(t, "ships.txt", first(t, sourcesOf(res)))
		}
	}
	for _, r := range []*harness{h, r2} {
		_, held := r.app.Ring.Cached("tenant-a")
		require.True(t, held, "the tenant's call unlocked its key on each replica")
		require.Eventually(t, func() bool {
			_, err := os.Stat(r.app.Lexical.TenantDir("tenant-b"))
			return err == nil
		}, 10*time.Second, 20*time.Millisecond, "each replica writes its index of tenant-b")
	}

	// Replica 2's stream is down; replica 1 handles both events.
	fa.PublishTenantEvent(authv1.TenantEventKind_TENANT_EVENT_KIND_SUSPENDED, "tenant-a")
	fa.PublishTenantEvent(authv1.TenantEventKind_TENANT_EVENT_KIND_PURGED, "tenant-b")
	session(w1)
	_, held := h.app.Ring.Cached("tenant-a")
	require.False(t, held, "replica 1 dropped the suspended tenant's key")
	_, err := os.Stat(h.app.Lexical.TenantDir("tenant-b"))
	require.ErrorIs(t, err, os.ErrNotExist, "replica 1 deleted the purged tenant's index")
	saved, err := r2.app.Store.Cursor(t.Context(), tenantevents.CursorName)
	require.NoError(t, err)
	require.EqualValues(t, 3, saved, "the shared cursor is past both events")

	// Replica 2 reconnects.
	session(w2)
	_, held = r2.app.Ring.Cached("tenant-a")
	require.False(t, held, "replica 2 dropped the suspended tenant's key")
	_, err = os.Stat(r2.app.Lexical.TenantDir("tenant-b"))
	require.ErrorIs(t, err, os.ErrNotExist, "replica 2 deleted the purged tenant's index")
	require.Equal(t, []int64{0, 1, 1, 1}, fa.TenantWatchCursors(), "replica 2 resumed after its own position, not the shared cursor (3)")
}
