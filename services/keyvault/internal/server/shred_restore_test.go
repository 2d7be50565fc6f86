package server_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/pkg/tenantevents"
)

// restoreShreds makes keyvault's database look restored from a backup
// taken when seq was its last shred: the later shreds are gone and the
// next shred is numbered seq+1 again, as the backup's sequence says.
func restoreShreds(t *testing.T, h *harness, postgres bool, seq int64) {
	t.Helper()
	ctx := context.Background()
	db := h.st.DB()
	stmts := []string{
		fmt.Sprintf(`DELETE FROM shredded_tenants WHERE tenant_id IN (SELECT tenant_id FROM shred_events WHERE seq > %d)`, seq),
		fmt.Sprintf(`DELETE FROM shred_events WHERE seq > %d`, seq),
		fmt.Sprintf(`UPDATE sqlite_sequence SET seq = %d WHERE name = 'shred_events'`, seq),
	}
	if postgres {
		stmts[2] = fmt.Sprintf(`SELECT setval(pg_get_serial_sequence('shred_events', 'seq'), %d)`, seq)
	}
	for _, q := range stmts {
		_, err := db.ExecContext(ctx, q)
		require.NoError(t, err, q)
	}
}

// TestWatchShredsAfterRestore (ADR 0095): keyvault's database restored from
// a backup loses the shreds made after it and numbers the next ones as the
// lost ones were. A client resuming at a cursor the restored database has
// issued again to another shred would skip the new shreds at or below it;
// the resume names the shred it saw (tenant and time), so keyvault answers
// RESYNC instead, naming its own last shred. A stream open across the
// restore resyncs at its next wake-up.
func TestWatchShredsAfterRestore(t *testing.T) {
	onBothStores(t, func(t *testing.T, postgres bool) {
		h := newHarness(t, harnessOpts{authz: true, postgres: postgres})
		var seen []*keyvaultv1.WatchShredsResponse
		s := watchShreds(t, h, "inference", 0)
		for _, tenant := range []string{"t1", "t2", "t3"} {
			h.clock.Add(time.Second)
			shred(t, h, tenant)
			m := s.next(t)
			requireShredEvent(t, m, tenant, 0)
			seen = append(seen, m)
		}
		resume := func(m *keyvaultv1.WatchShredsResponse) *keyvaultv1.WatchShredsRequest {
			return &keyvaultv1.WatchShredsRequest{AfterCursor: m.GetCursor(), AfterTenantId: m.GetTenantId(), AfterShredTime: m.GetShredTime()}
		}

		restoreShreds(t, h, postgres, seen[0].GetCursor())
		var after []*keyvaultv1.WatchShredsResponse
		for _, tenant := range []string{"t5", "t6"} {
			h.clock.Add(time.Second)
			shred(t, h, tenant)
			after = append(after, s.next(t))
		}
		// The stream open across the restore: its last shred (t3) is gone,
		// so the next wake-up resyncs it, then t6 follows as usual.
		require.Equal(t, keyvaultv1.ShredEventKind_SHRED_EVENT_KIND_RESYNC, after[0].GetKind(), "%v", after[0])
		require.Equal(t, "t5", after[0].GetTenantId())
		require.Equal(t, seen[1].GetCursor(), after[0].GetCursor(), "t5 has t2's number")
		requireShredEvent(t, after[1], "t6", after[0].GetCursor())
		require.Equal(t, seen[2].GetCursor(), after[1].GetCursor(), "t6 has t3's number")

		for _, tt := range []struct {
			name string
			req  *keyvaultv1.WatchShredsRequest
			want []string // "" for RESYNC, else the shreds sent, in order
		}{
			{"at a shred the backup holds: the shreds after it", resume(seen[0]), []string{"t5", "t6"}},
			{"at a lost shred whose number was issued again: resync", resume(seen[1]), []string{""}},
			{"at the last lost shred, now the head's number: resync", resume(seen[2]), []string{""}},
			{"the same number, another time: resync", &keyvaultv1.WatchShredsRequest{AfterCursor: after[1].GetCursor(), AfterTenantId: "t6", AfterShredTime: timestamppb.New(h.clock.Now().Add(time.Hour))}, []string{""}},
			{"at the head as the restored database numbered it", resume(after[1]), nil},
			{"beyond the head: resync", &keyvaultv1.WatchShredsRequest{AfterCursor: after[1].GetCursor() + 1}, []string{""}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				s := watchShredsFrom(t, h, "ingestion", tt.req)
				for _, want := range tt.want {
					m := s.next(t)
					if want != "" {
						requireShredEvent(t, m, want, tt.req.GetAfterCursor())
						continue
					}
					require.Equal(t, keyvaultv1.ShredEventKind_SHRED_EVENT_KIND_RESYNC, m.GetKind(), "%v", m)
					require.Equal(t, after[1].GetCursor(), m.GetCursor(), "continue from the head")
					require.Equal(t, "t6", m.GetTenantId(), "naming the head's shred")
					require.True(t, m.GetShredTime().AsTime().Equal(after[1].GetShredTime().AsTime()))
				}
				s.quiet(t)
			})
		}
	})
}

// TestShredWatcherAfterRestore: inference's and ingestion's watcher
// (pkg/tenantevents) across a keyvault restore: it was following when the
// shreds were made, was disconnected while the database was restored and
// others shredded, and on reconnecting drops every key (RESYNC), then
// follows the restored database's new shreds.
func TestShredWatcherAfterRestore(t *testing.T) {
	h := newHarness(t, harnessOpts{authz: true})
	cache := &syncCache{}
	w := tenantevents.NewShredWatcher(h.as(t, "inference").shreds, slog.New(slog.DiscardHandler), cache)
	w.MinBackoff, w.MaxBackoff = time.Millisecond, 10*time.Millisecond
	run := func() (stop func()) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); w.Run(ctx) }()
		return func() { cancel(); <-done }
	}

	stop := run()
	for _, tenant := range []string{"t1", "t2", "t3"} {
		h.clock.Add(time.Second)
		shred(t, h, tenant)
	}
	cache.waitFor(t, func(forgot []string, _ int) bool { return len(forgot) == 3 })
	c1, c3 := int64(1), w.Cursor()
	stop()

	restoreShreds(t, h, false, c1)
	for _, tenant := range []string{"t5", "t6"} {
		h.clock.Add(time.Second)
		shred(t, h, tenant)
	}
	stop = run()
	defer stop()
	cache.waitFor(t, func(_ []string, all int) bool { return all == 1 })
	require.Equal(t, c3, w.Cursor(), "t6 has t3's number; the watcher is at the restored head")
	h.clock.Add(time.Second)
	shred(t, h, "t7")
	cache.waitFor(t, func(forgot []string, _ int) bool { return slices.Contains(forgot, "t7") })
	forgot, _ := cache.state()
	require.Equal(t, []string{"t1", "t2", "t3", "t7"}, forgot, "t5 and t6 dropped with every key, not one by one")
}

// syncCache records what a running watcher dropped.
type syncCache struct {
	mu     sync.Mutex
	forgot []string
	all    int
}

func (c *syncCache) Forget(tenant string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.forgot = append(c.forgot, tenant)
}

func (c *syncCache) ForgetAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.all++
}

func (c *syncCache) state() ([]string, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.forgot), c.all
}

func (c *syncCache) waitFor(t *testing.T, done func(forgot []string, all int) bool) {
	t.Helper()
	require.Eventually(t, func() bool { return done(c.state()) }, 5*time.Second, 5*time.Millisecond)
}
