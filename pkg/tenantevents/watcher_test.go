package tenantevents_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/authtest"
	"github.com/rampart-platform/rampart/pkg/grpctest"
	"github.com/rampart-platform/rampart/pkg/pki/pkitest"
	"github.com/rampart-platform/rampart/pkg/tenantevents"
)

// memCursors stands in for a service's store (each service persists its
// cursor in its own database; the watcher only needs these two calls).
type memCursors struct {
	mu sync.Mutex
	m  map[string]int64
}

func (c *memCursors) Cursor(_ context.Context, name string) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[name], nil
}

func (c *memCursors) SetCursor(_ context.Context, name string, cursor int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[name] = cursor
	return nil
}

func TestWatcherPurgesAndResumes(t *testing.T) {
	dir, _ := pkitest.NewDir(t, "auth", "ingestion")
	fa := authtest.Start(t, dir)
	fa.PublishTenantEvent(authv1.TenantEventKind_TENANT_EVENT_KIND_CREATED, "a")
	fa.PublishTenantEvent(authv1.TenantEventKind_TENANT_EVENT_KIND_PURGED, "a")
	fa.PublishTenantEvent(authv1.TenantEventKind_TENANT_EVENT_KIND_PURGED, "b")
	fa.EndTenantStreamsWhenCaughtUp(true) // each session ends once caught up
	conn := grpctest.Dial(t, dir, "ingestion", fa.Addr, "auth")

	st := &memCursors{m: map[string]int64{}}

	var purged []string
	failB := true
	purge := func(_ context.Context, tenant string) error {
		if tenant == "b" && failB {
			return errors.New("disk busy")
		}
		purged = append(purged, tenant)
		return nil
	}
	w := tenantevents.New(authv1.NewAuthServiceClient(conn), purge, st, slog.New(slog.DiscardHandler))
	ctx := context.Background()

	progressed, err := w.Session(ctx)
	require.True(t, progressed)
	require.ErrorContains(t, err, "disk busy")
	require.Equal(t, []string{"a"}, purged)
	c, err := st.Cursor(ctx, tenantevents.CursorName)
	require.NoError(t, err)
	require.EqualValues(t, 2, c, "the failed purge is not skipped")

	failB = false
	_, err = w.Session(ctx)
	require.ErrorContains(t, err, "stream closed")
	require.Equal(t, []string{"a", "b"}, purged)
	c, err = st.Cursor(ctx, tenantevents.CursorName)
	require.NoError(t, err)
	require.EqualValues(t, 3, c)
	require.Equal(t, []int64{0, 2}, fa.TenantWatchCursors(), "resumed after the saved cursor")
}

// TestWatcherTellsOfSuspensions: a suspension and a deletion reach the
// Suspended hook (ingestion drops the tenant's data key, ADR 0115); a
// resumption, a creation and a purge do not; without the hook the events
// only move the cursor.
func TestWatcherTellsOfSuspensions(t *testing.T) {
	dir, _ := pkitest.NewDir(t, "auth", "ingestion")
	fa := authtest.Start(t, dir)
	fa.PublishTenantEvent(authv1.TenantEventKind_TENANT_EVENT_KIND_CREATED, "a")
	fa.PublishTenantEvent(authv1.TenantEventKind_TENANT_EVENT_KIND_SUSPENDED, "a")
	fa.PublishTenantEvent(authv1.TenantEventKind_TENANT_EVENT_KIND_RESUMED, "a")
	fa.PublishTenantEvent(authv1.TenantEventKind_TENANT_EVENT_KIND_DELETED, "b")
	fa.PublishTenantEvent(authv1.TenantEventKind_TENANT_EVENT_KIND_PURGED, "b")
	fa.EndTenantStreamsWhenCaughtUp(true)
	conn := grpctest.Dial(t, dir, "ingestion", fa.Addr, "auth")
	noPurge := func(context.Context, string) error { return nil }
	ctx := context.Background()

	var suspended []string
	w := tenantevents.New(authv1.NewAuthServiceClient(conn), noPurge, &memCursors{m: map[string]int64{}}, slog.New(slog.DiscardHandler))
	w.Suspended = func(tenant string) { suspended = append(suspended, tenant) }
	_, err := w.Session(ctx)
	require.ErrorContains(t, err, "stream closed")
	require.Equal(t, []string{"a", "b"}, suspended)

	st := &memCursors{m: map[string]int64{}}
	_, err = tenantevents.New(authv1.NewAuthServiceClient(conn), noPurge, st, slog.New(slog.DiscardHandler)).Session(ctx)
	require.ErrorContains(t, err, "stream closed")
	c, err := st.Cursor(ctx, tenantevents.CursorName)
	require.NoError(t, err)
	require.EqualValues(t, 5, c, "without the hook")
}

// TestWatcherTellsOfMembersWhoLeft (ADR 0132 §1): a member removed or
// lowered to viewer reaches the MemberLeft hook with her member record; a
// failing hook keeps the cursor before the event, so it is retried after
// the reconnect, not skipped.
func TestWatcherTellsOfMembersWhoLeft(t *testing.T) {
	dir, _ := pkitest.NewDir(t, "auth", "ingestion")
	fa := authtest.Start(t, dir)
	fa.PublishMemberEvent(authv1.TenantEventKind_TENANT_EVENT_KIND_MEMBER_REMOVED, "a", "m_1")
	fa.PublishTenantEvent(authv1.TenantEventKind_TENANT_EVENT_KIND_SUSPENDED, "a")
	fa.PublishMemberEvent(authv1.TenantEventKind_TENANT_EVENT_KIND_MEMBER_READ_ONLY, "b", "m_2")
	fa.EndTenantStreamsWhenCaughtUp(true)
	conn := grpctest.Dial(t, dir, "ingestion", fa.Addr, "auth")
	noPurge := func(context.Context, string) error { return nil }
	ctx := context.Background()

	st := &memCursors{m: map[string]int64{}}
	var left []string
	fail := true
	w := tenantevents.New(authv1.NewAuthServiceClient(conn), noPurge, st, slog.New(slog.DiscardHandler))
	w.MemberLeft = func(_ context.Context, tenant, member string, readOnly bool) error {
		if member == "m_2" && fail {
			return errors.New("keyvault unavailable")
		}
		left = append(left, fmt.Sprintf("%s/%s/%t", tenant, member, readOnly))
		return nil
	}
	_, err := w.Session(ctx)
	require.ErrorContains(t, err, "keyvault unavailable")
	c, err := st.Cursor(ctx, tenantevents.CursorName)
	require.NoError(t, err)
	require.EqualValues(t, 2, c, "the failed member event is not skipped")
	fail = false
	_, err = w.Session(ctx)
	require.ErrorContains(t, err, "stream closed")
	require.Equal(t, []string{"a/m_1/false", "b/m_2/true"}, left)
}
