package audit_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	pstore "github.com/rampart-platform/rampart/pkg/store"
	"github.com/rampart-platform/rampart/pkg/store/pgtest"

	"github.com/rampart-platform/rampart/services/keyvault/internal/audit"
	"github.com/rampart-platform/rampart/services/keyvault/internal/store"
)

// slowChain delays every transaction, so concurrent writers pile up behind
// it as they do behind a PostgreSQL commit, and counts transactions.
type slowChain struct {
	audit.Chain
	delay time.Duration
	txs   atomic.Int64
}

func (c *slowChain) AppendAuditBatch(ctx context.Context, recs []store.AuditAppend) (int64, error) {
	c.txs.Add(1)
	time.Sleep(c.delay)
	return c.Chain.AppendAuditBatch(ctx, recs)
}

func record(i int) audit.Record {
	return audit.Record{Time: time.Now(), Tenant: "t1", Caller: "spiffe://rampart.local/svc/edge", Action: "GetSecretValue",
		Name: fmt.Sprintf("/dev/app/s/%d", i), Result: audit.ResultOK}
}

// Concurrent records share transactions, every acknowledged record is in
// the chain, and the chain stays one verified line.
func TestChainSinkGroupCommit(t *testing.T) {
	open := map[string]func(t *testing.T) *store.Store{
		"sqlite": func(t *testing.T) *store.Store {
			st, err := store.Open(t.Context(), t.TempDir())
			require.NoError(t, err)
			return st
		},
		"postgres": func(t *testing.T) *store.Store {
			u := pgtest.Start(t)
			if u == "" {
				t.Skip("PostgreSQL not available")
			}
			st, err := store.OpenPostgres(t.Context(), u, pstore.DefaultPoolOptions)
			require.NoError(t, err)
			return st
		},
	}
	for name, o := range open {
		t.Run(name, func(t *testing.T) {
			st := o(t)
			t.Cleanup(func() { _ = st.Close() })
			chain := &slowChain{Chain: st, delay: 5 * time.Millisecond}
			sink := audit.NewChainSink(chain)
			const writers, each = 32, 5
			var wg sync.WaitGroup
			var acked atomic.Int64
			for w := range writers {
				wg.Go(func() {
					for i := range each {
						require.NoError(t, sink.Write(t.Context(), record(w*each+i)))
						acked.Add(1)
					}
				})
			}
			wg.Wait()
			require.NoError(t, sink.Close())
			n, err := st.VerifyAuditChain(t.Context())
			require.NoError(t, err)
			require.Equal(t, int64(writers*each), n, "every acknowledged record is a link")
			require.Equal(t, acked.Load(), n)
			require.Less(t, chain.txs.Load(), int64(writers*each/2), "records share transactions")
		})
	}
}

// gateChain holds every transaction until released, then fails or succeeds.
type gateChain struct {
	release chan struct{}
	err     error
	got     atomic.Int64
}

func (c *gateChain) AppendAuditBatch(_ context.Context, recs []store.AuditAppend) (int64, error) {
	<-c.release
	c.got.Add(int64(len(recs)))
	return 0, c.err
}

func TestChainSinkAcknowledgesOnlyCommitted(t *testing.T) {
	t.Run("a write returns only after its transaction", func(t *testing.T) {
		c := &gateChain{release: make(chan struct{})}
		sink := audit.NewChainSink(c)
		done := make(chan error, 1)
		go func() { done <- sink.Write(t.Context(), record(1)) }()
		select {
		case err := <-done:
			t.Fatalf("answered (%v) before the commit", err)
		case <-time.After(50 * time.Millisecond):
		}
		close(c.release)
		require.NoError(t, <-done)
		require.NoError(t, sink.Close())
	})
	t.Run("a failed transaction fails every record in it", func(t *testing.T) {
		c := &gateChain{release: make(chan struct{}), err: errors.New("database is gone")}
		sink := audit.NewChainSink(c)
		errs := make(chan error, 8)
		for i := range 8 {
			go func() { errs <- sink.Write(t.Context(), record(i)) }()
		}
		time.Sleep(20 * time.Millisecond)
		close(c.release)
		for range 8 {
			require.ErrorContains(t, <-errs, "database is gone")
		}
		require.NoError(t, sink.Close())
	})
	t.Run("a cancelled caller still waits for its record's outcome", func(t *testing.T) {
		c := &gateChain{release: make(chan struct{})}
		sink := audit.NewChainSink(c)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- sink.Write(ctx, record(1)) }()
		time.Sleep(10 * time.Millisecond)
		cancel()
		select {
		case err := <-done:
			t.Fatalf("returned (%v) before the outcome was known", err)
		case <-time.After(30 * time.Millisecond):
		}
		close(c.release)
		require.NoError(t, <-done)
		require.NoError(t, sink.Close())
	})
	t.Run("closed: queued records are appended, new ones refused", func(t *testing.T) {
		c := &gateChain{release: make(chan struct{})}
		close(c.release)
		sink := audit.NewChainSink(c)
		require.NoError(t, sink.Write(t.Context(), record(1)))
		require.NoError(t, sink.Close())
		require.ErrorIs(t, sink.Write(t.Context(), record(2)), audit.ErrClosed)
		require.Equal(t, int64(1), c.got.Load())
	})
}
