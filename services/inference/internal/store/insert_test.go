package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/inference/internal/store"
)

// TestInsertBatchSizes: batches below, at and across the 64-row statement
// size (split into power-of-two statements, cached per row count) store
// every record exactly once, on SQLite and PostgreSQL, and no more than the
// seven power-of-two statements are ever prepared.
func TestInsertBatchSizes(t *testing.T) {
	for name, dsn := range dialects {
		t.Run(name, func(t *testing.T) {
			st, err := store.Open(t.Context(), dsn(t))
			require.NoError(t, err)
			t.Cleanup(func() { _ = st.Close() })
			at := time.Now().UTC()
			want := int64(0)
			for i, n := range []int{1, 63, 64, 65, 130, 200, 1, 64, 3, 127, 511, 512, 37} {
				recs := make([]store.Record, n)
				for j := range recs {
					recs[j] = store.Record{Tenant: "t1", Key: "k", Model: "m", RequestID: fmt.Sprintf("r%d-%d", i, j),
						PromptTokens: 2, CompletionTokens: 1, At: at}
				}
				require.NoError(t, st.Insert(t.Context(), recs), "batch of %d", n)
				want += int64(3 * n)
				got, err := st.TokensSince(t.Context(), "t1", "", at.Add(-time.Minute))
				require.NoError(t, err)
				require.Equal(t, want, got, "after a batch of %d", n)
			}
			require.Equal(t, 7, store.PreparedInserts(st), "1, 2, 4, … 64 rows")
		})
	}
}

// BenchmarkInsert is the usage store's write of one batch of n records, as
// the recorder's writer runs it: one tenant and key, a new request id and
// a later millisecond per row (ns/op per batch; docs/performance.md counts
// its instructions per row under callgrind from two -benchtime counts).
// n=8 is a batch window at callgrind's pace, 256 one at c=64 natively.
func BenchmarkInsert(b *testing.B) {
	for _, n := range []int{8, 256} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			st := openSQLite(b)
			at := time.Now()
			recs := make([]store.Record, n)
			for i := range recs {
				recs[i] = store.Record{Tenant: "tenant-0123456789", Key: "key-0123456789", Model: "gpt-4o-mini",
					RequestID: fmt.Sprintf("req-0123456789abcdef-%04d", i), PromptTokens: 12, CompletionTokens: 11,
					Latency: time.Millisecond, CostMicroUSD: 3}
			}
			b.ReportAllocs()
			for b.Loop() {
				for i := range recs {
					at = at.Add(time.Millisecond)
					recs[i].At = at
				}
				if err := st.Insert(b.Context(), recs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
