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
			st := openStore(t, dsn)
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

// TestInsertSharedAndMixedChunks: a chunk whose rows share one tenant, key
// and model binds them once (ADR 0108), a chunk that mixes them binds them
// per row; either way every row keeps its own tenant, key, model and
// tokens. Batches mix uniform and mixed chunks, on SQLite and PostgreSQL.
func TestInsertSharedAndMixedChunks(t *testing.T) {
	for name, dsn := range dialects {
		t.Run(name, func(t *testing.T) {
			st := openStore(t, dsn)
			at := time.Now().UTC()
			type acct struct{ tenant, key, model string }
			want := map[acct]int64{}
			seq := 0
			add := func(recs []store.Record, n int, who func(j int) acct) []store.Record {
				for j := range n {
					a := who(j)
					seq++
					recs = append(recs, store.Record{Tenant: a.tenant, Key: a.key, Model: a.model, RequestID: fmt.Sprintf("r%d", seq),
						PromptTokens: int64(seq), CompletionTokens: 1, At: at})
					want[a] += int64(seq) + 1
				}
				return recs
			}
			one := func(a acct) func(int) acct { return func(int) acct { return a } }
			mixed := func(j int) acct {
				return acct{fmt.Sprintf("t%d", j%2), fmt.Sprintf("k%d", j%3), fmt.Sprintf("m%d", j%5)}
			}
			// 64 uniform + 32 mixed + 4 uniform (another caller) + 1
			var recs []store.Record
			recs = add(recs, 64, one(acct{"t0", "k0", "m0"}))
			recs = add(recs, 32, mixed)
			recs = add(recs, 4, one(acct{"t1", "k2", "m4"}))
			recs = add(recs, 1, one(acct{"t0", "k1", "m1"}))
			require.NoError(t, st.Insert(t.Context(), recs))
			// a batch whose only difference inside a chunk is the model
			recs = add(nil, 3, func(j int) acct { return acct{"t1", "k1", fmt.Sprintf("m%d", j)} })
			require.NoError(t, st.Insert(t.Context(), recs))

			perKey := map[[2]string]int64{}
			perTenant := map[string]int64{}
			for a, n := range want {
				perKey[[2]string{a.tenant, a.key}] += n
				perTenant[a.tenant] += n
			}
			for tk, n := range perKey {
				got, err := st.TokensSince(t.Context(), tk[0], tk[1], at.Add(-time.Minute))
				require.NoError(t, err)
				require.Equal(t, n, got, "tenant %s key %s", tk[0], tk[1])
			}
			for tenant, n := range perTenant {
				got, err := st.TokensSince(t.Context(), tenant, "", at.Add(-time.Minute))
				require.NoError(t, err)
				require.Equal(t, n, got, "tenant %s", tenant)
				buckets, err := st.Usage(t.Context(), tenant, at.Add(-time.Minute), at.Add(time.Minute), store.ByModel)
				require.NoError(t, err)
				byModel := map[string]int64{}
				for a, n := range want {
					if a.tenant == tenant {
						byModel[a.model] += n
					}
				}
				gotByModel := map[string]int64{}
				for _, b := range buckets {
					gotByModel[b.Group] += b.PromptTokens + b.CompletionTokens
				}
				require.Equal(t, byModel, gotByModel, "tenant %s by model", tenant)
			}
		})
	}
}
