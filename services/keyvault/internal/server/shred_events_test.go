package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/services/keyvault/internal/vault"
)

// shredStream is one WatchShreds stream whose messages arrive on a channel,
// so a test can wait for one with a deadline.
type shredStream struct {
	msgs chan *keyvaultv1.WatchShredsResponse
	errc chan error
}

func watchShreds(t *testing.T, h *harness, caller string, after int64) *shredStream {
	t.Helper()
	return watchShredsFrom(t, h, caller, &keyvaultv1.WatchShredsRequest{AfterCursor: after})
}

func watchShredsFrom(t *testing.T, h *harness, caller string, req *keyvaultv1.WatchShredsRequest) *shredStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	st, err := h.as(t, caller).shreds.WatchShreds(ctx, req)
	require.NoError(t, err)
	s := &shredStream{msgs: make(chan *keyvaultv1.WatchShredsResponse, 64), errc: make(chan error, 1)}
	go func(st grpc.ServerStreamingClient[keyvaultv1.WatchShredsResponse]) {
		for {
			m, err := st.Recv()
			if err != nil {
				s.errc <- err
				return
			}
			s.msgs <- m
		}
	}(st)
	return s
}

// next returns the next message, failing after a few seconds (delivery on
// the shredding replica is immediate; the deadline only guards the test).
func (s *shredStream) next(t *testing.T) *keyvaultv1.WatchShredsResponse {
	t.Helper()
	select {
	case m := <-s.msgs:
		return m
	case err := <-s.errc:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("no shred event")
	}
	return nil
}

// quiet requires that no message arrives for a moment.
func (s *shredStream) quiet(t *testing.T) {
	t.Helper()
	select {
	case m := <-s.msgs:
		t.Fatalf("unexpected event %v", m)
	case err := <-s.errc:
		require.NoError(t, err)
	case <-time.After(200 * time.Millisecond):
	}
}

// end returns the error the stream ended with.
func (s *shredStream) end(t *testing.T) error {
	t.Helper()
	select {
	case err := <-s.errc:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("stream did not end")
	}
	return nil
}

func shred(t *testing.T, h *harness, tenant string) {
	t.Helper()
	_, err := h.as(t, "rampart-cli").admin.ShredTenant(context.Background(), &keyvaultv1.ShredTenantRequest{TenantId: tenant})
	require.NoError(t, err)
}

func requireShredEvent(t *testing.T, m *keyvaultv1.WatchShredsResponse, tenant string, after int64) int64 {
	t.Helper()
	require.Equal(t, keyvaultv1.ShredEventKind_SHRED_EVENT_KIND_SHREDDED, m.GetKind(), "%v", m)
	require.Equal(t, tenant, m.GetTenantId())
	require.Greater(t, m.GetCursor(), after, "cursors grow")
	require.False(t, m.GetShredTime().AsTime().IsZero())
	return m.GetCursor()
}

// TestWatchShreds (ADR 0084): only ingestion and inference may follow the
// shreds; a stream replays every shred after its cursor and then gets each
// new one as it is made (a repeated shred is none); a cursor this database
// never issued is answered with RESYNC; every subscription is audited; a
// draining server ends the streams with Unavailable.
func TestWatchShreds(t *testing.T) {
	h := newHarness(t, harnessOpts{authz: true})
	shred(t, h, "t1")
	shred(t, h, "t2")

	t.Run("allow-list", func(t *testing.T) {
		for _, caller := range []string{"edge", "slackadapter", "auth", "rampart-cli"} {
			err := watchShreds(t, h, caller, 0).end(t)
			requireCode(t, err, codes.PermissionDenied)
		}
	})

	var c1, c2 int64
	t.Run("replay, then live", func(t *testing.T) {
		s := watchShreds(t, h, "ingestion", 0)
		c1 = requireShredEvent(t, s.next(t), "t1", 0)
		c2 = requireShredEvent(t, s.next(t), "t2", c1)
		s.quiet(t)
		shred(t, h, "t3")
		requireShredEvent(t, s.next(t), "t3", c2)
		shred(t, h, "t1")
		s.quiet(t) // a repeated shred is no new event
	})

	t.Run("resume after a cursor", func(t *testing.T) {
		s := watchShreds(t, h, "inference", c1)
		requireShredEvent(t, s.next(t), "t2", c1)
		requireShredEvent(t, s.next(t), "t3", c2)
		s.quiet(t)
	})

	t.Run("unknown cursor: resync", func(t *testing.T) {
		s := watchShreds(t, h, "inference", c2+1000)
		m := s.next(t)
		require.Equal(t, keyvaultv1.ShredEventKind_SHRED_EVENT_KIND_RESYNC, m.GetKind())
		require.Equal(t, "t3", m.GetTenantId(), "the RESYNC names the shred at its cursor (ADR 0095)")
		head := m.GetCursor()
		require.Greater(t, head, c2)
		shred(t, h, "t4")
		requireShredEvent(t, s.next(t), "t4", head)
	})

	t.Run("negative cursor", func(t *testing.T) {
		requireCode(t, watchShreds(t, h, "ingestion", -1).end(t), codes.InvalidArgument, "after_cursor")
	})

	t.Run("audited", func(t *testing.T) {
		b, err := os.ReadFile(h.auditLog)
		require.NoError(t, err)
		callers := map[string]int{}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var r map[string]any
			require.NoError(t, json.Unmarshal(sc.Bytes(), &r))
			if caller, ok := r["caller"].(string); ok && r["action"] == "WatchShreds" && r["result"] == "ok" {
				callers[caller]++
			}
		}
		require.Equal(t, map[string]int{"spiffe://rampart.local/svc/ingestion": 1, "spiffe://rampart.local/svc/inference": 2}, callers)
	})

	t.Run("drain ends the stream", func(t *testing.T) {
		s := watchShreds(t, h, "ingestion", c2)
		requireShredEvent(t, s.next(t), "t3", c2)
		close(h.draining)
		requireCode(t, s.end(t), codes.Unavailable, "shutting down")
	})
}

// TestWatchShredsFromAnotherReplica: a shred made through another keyvault
// replica on the same database reaches this replica's streams at its next
// poll (vault.FollowShreds; ShredPollInterval in production).
func TestWatchShredsFromAnotherReplica(t *testing.T) {
	h := newHarness(t, harnessOpts{authz: true})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go h.svc.FollowShreds(ctx, 20*time.Millisecond)
	other := vault.New(h.vaultOpts)

	s := watchShreds(t, h, "ingestion", 0)
	s.quiet(t)
	_, err := other.ShredTenant(ctx, "test", "t9")
	require.NoError(t, err)
	requireShredEvent(t, s.next(t), "t9", 0)
}
