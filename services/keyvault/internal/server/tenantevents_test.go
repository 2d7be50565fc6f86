package server_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/logging"

	"github.com/rampart-platform/rampart/pkg/tenantevents"
)

// recv waits for a value; the bound only keeps a broken build from hanging.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(30 * time.Second):
		t.Fatalf("no %s", what)
		panic("unreachable")
	}
}

// TestTenantEventsShredOnPurge follows the auth stand-in's real
// WatchTenantEvents stream over mTLS: a PURGED event shreds the tenant,
// other events only move the cursor, the cursor is persisted and a
// reconnect (and a restart) resumes after it, and a failed shred is
// retried from the same event.
func TestTenantEventsShredOnPurge(t *testing.T) {
	h := newHarness(t, harnessOpts{auth: true})
	dk1 := seedTenant(t, h, "t1")
	seedTenant(t, h, "t2")
	keks := wrappedKEKs(t, h, "t1")

	shredded := make(chan string, 16)
	failNext := make(chan struct{}, 1)
	shred := func(ctx context.Context, tenant string) error {
		select {
		case <-failNext:
			shredded <- "failed:" + tenant
			return errors.New("injected failure")
		default:
		}
		_, err := h.svc.ShredTenant(ctx, "auth/tenant-purged", tenant)
		shredded <- tenant
		return err
	}
	client := authv1.NewAuthServiceClient(h.dialAuth(t))
	log := logging.New(h.logs, slog.LevelDebug)
	w := tenantevents.New(client, shred, h.st, log)
	w.MinBackoff, w.MaxBackoff = time.Millisecond, 5*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	require.Equal(t, int64(0), recv(t, h.auth.Watches(), "first watch"), "nothing saved: start from now")
	h.auth.PublishTenantEvent(authv1.TenantEventKind_TENANT_EVENT_KIND_CREATED, "t3")
	h.auth.PublishTenantEvent(authv1.TenantEventKind_TENANT_EVENT_KIND_DELETED, "t1")
	purge := h.auth.PublishTenantEvent(authv1.TenantEventKind_TENANT_EVENT_KIND_PURGED, "t1")
	require.Equal(t, "t1", recv(t, shredded, "shred of t1"))
	requireShredded(t, h, "t1", dk1, keks)

	// Drop the stream: the watcher comes back after the purge's cursor.
	h.auth.DropStreams()
	require.Equal(t, purge, recv(t, h.auth.Watches(), "re-watch after drop"))
	c, err := h.st.Cursor(context.Background(), tenantevents.CursorName)
	require.NoError(t, err)
	require.Equal(t, purge, c, "cursor persisted")

	// A failed shred keeps the cursor before the event; the replay retries.
	failNext <- struct{}{}
	purge2 := h.auth.PublishTenantEvent(authv1.TenantEventKind_TENANT_EVENT_KIND_PURGED, "t2")
	require.Equal(t, "failed:t2", recv(t, shredded, "failed shred"))
	require.Equal(t, purge, recv(t, h.auth.Watches(), "re-watch after failure"), "resumes before the failed event")
	require.Equal(t, "t2", recv(t, shredded, "retried shred"))
	// The client sees the drop only at its next Recv, after the event was
	// handled: the re-watch shows the saved cursor.
	h.auth.DropStreams()
	require.Equal(t, purge2, recv(t, h.auth.Watches(), "re-watch after the retried shred"))
	ok, err := h.st.TenantShredded(context.Background(), "t2")
	require.NoError(t, err)
	require.True(t, ok)

	// A restarted keyvault (new watcher, same store) resumes after purge2.
	cancel()
	<-done
	w2 := tenantevents.New(client, shred, h.st, log)
	ctx2, cancel2 := context.WithCancel(context.Background())
	done2 := make(chan struct{})
	go func() { w2.Run(ctx2); close(done2) }()
	defer func() { cancel2(); <-done2 }()
	require.Equal(t, purge2, recv(t, h.auth.Watches(), "watch after restart"))
	require.Empty(t, shredded, "no event replayed twice after a restart")
}
