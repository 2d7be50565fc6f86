package store_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/inference/internal/store"
)

func openSQLite(tb testing.TB) *store.Store {
	tb.Helper()
	st, err := store.Open(context.Background(), filepath.Join(tb.TempDir(), "usage.db"))
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = st.Close() })
	return st
}

// TestRecorderFlushAndClose: every record given to Record from many
// goroutines is stored exactly once; Flush returns only after everything
// recorded before it is readable; Close writes what is still queued; a
// Flush after Close returns at once.
func TestRecorderFlushAndClose(t *testing.T) {
	st := openSQLite(t)
	rec := store.NewRecorder(st, slog.New(slog.DiscardHandler))
	at := time.Now().UTC()
	since := at.Add(-time.Minute)
	tokens := func() int64 {
		n, err := st.TokensSince(t.Context(), "t1", "", since)
		require.NoError(t, err)
		return n
	}
	// More than the queue holds (2,048) and than one transaction
	// (512), from 16 goroutines: Record blocks while the queue is full
	// and nothing is lost.
	const writers, each = 16, 300
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				rec.Record(store.Record{Tenant: "t1", Key: fmt.Sprintf("k%d", w), Model: "m", RequestID: fmt.Sprintf("r%d-%d", w, i),
					PromptTokens: 2, CompletionTokens: 1, At: at})
			}
		})
	}
	wg.Wait()
	require.NoError(t, rec.Flush(t.Context()))
	require.Equal(t, int64(3*writers*each), tokens())

	// One record, flushed at once (not after the batch window).
	rec.Record(store.Record{Tenant: "t1", Key: "k0", Model: "m", RequestID: "one", PromptTokens: 5, At: at})
	start := time.Now()
	require.NoError(t, rec.Flush(t.Context()))
	require.Less(t, time.Since(start), 90*time.Millisecond, "Flush waited for the batch window")
	require.Equal(t, int64(3*writers*each+5), tokens())

	// Without Flush the window writes it.
	rec.Record(store.Record{Tenant: "t1", Key: "k0", Model: "m", RequestID: "two", PromptTokens: 7, At: at})
	require.Eventually(t, func() bool { return tokens() == int64(3*writers*each+12) }, 5*time.Second, 20*time.Millisecond)

	// Close writes what is queued.
	for i := range 10 {
		rec.Record(store.Record{Tenant: "t1", Key: "k0", Model: "m", RequestID: fmt.Sprintf("c%d", i), PromptTokens: 1, At: at})
	}
	rec.Close()
	require.Equal(t, int64(3*writers*each+22), tokens())
	require.NoError(t, rec.Flush(t.Context()))
	rec.Close() // twice is fine
}

// TestRecorderFlushHonoursContext: a Flush whose context ends while the
// writer is busy returns the context's error.
func TestRecorderFlushHonoursContext(t *testing.T) {
	st := openSQLite(t)
	rec := store.NewRecorder(st, slog.New(slog.DiscardHandler))
	t.Cleanup(rec.Close)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	rec.Record(store.Record{Tenant: "t1", Key: "k", Model: "m", RequestID: "r", PromptTokens: 1, At: time.Now()})
	err := rec.Flush(ctx)
	if err != nil {
		require.ErrorIs(t, err, context.Canceled)
	}
	require.NoError(t, rec.Flush(t.Context()))
}

// BenchmarkRecord: what a request pays to hand its usage record to the
// writer, 16 requests at once, with the writer's SQLite inserts running in
// the same process (ns/op is per record, both together).
func BenchmarkRecord(b *testing.B) {
	st := openSQLite(b)
	rec := store.NewRecorder(st, slog.New(slog.DiscardHandler))
	b.Cleanup(rec.Close)
	r := store.Record{Tenant: "tenant-0123456789", Key: "key-0123456789", Model: "gpt-4o-mini", RequestID: "req-0123456789abcdef",
		PromptTokens: 12, CompletionTokens: 11, Latency: time.Millisecond, CostMicroUSD: 3, At: time.Now()}
	b.SetParallelism(8)
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rec.Record(r)
			// a request's own work between records: the writer is
			// parked between them, as under a real load
			time.Sleep(100 * time.Microsecond)
		}
	})
	require.NoError(b, rec.Flush(context.Background()))
	b.ReportMetric(float64((cpuTime(b)-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	require.NoError(tb, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
