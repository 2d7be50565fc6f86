package store_test

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/store/pgtest"
	"github.com/rampart-platform/rampart/services/inference/internal/store"
)

// dialects are the DSNs the contract tests run on: a SQLite file and a
// real PostgreSQL server started by pgtest.
var dialects = map[string]func(t *testing.T) string{
	"sqlite":   func(t *testing.T) string { return filepath.Join(t.TempDir(), "usage.db") },
	"postgres": func(t *testing.T) string { return pgtest.Start(t) },
}

// openStore opens the store on dsn's database (migrated) for the test's
// life: the one setup of the dialect contract tests.
func openStore(t *testing.T, dsn func(*testing.T) string) *store.Store {
	t.Helper()
	st, err := store.Open(t.Context(), dsn(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func TestBucketStart(t *testing.T) {
	t.Parallel()
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		require.NoError(t, err)
		return v
	}
	tests := []struct {
		name, in string
		width    time.Duration
		want     string
	}{
		{"hour start stays", "2026-12-06T05:00:00Z", store.Hourly, "2026-12-06T05:00:00Z"},
		{"mid hour", "2026-12-06T05:59:59.999Z", store.Hourly, "2026-12-06T05:00:00Z"},
		{"next hour", "2026-12-06T06:00:00.001Z", store.Hourly, "2026-12-06T06:00:00Z"},
		{"day start stays", "2026-12-06T00:00:00Z", store.Daily, "2026-12-06T00:00:00Z"},
		{"end of day", "2026-12-06T23:59:59.999Z", store.Daily, "2026-12-06T00:00:00Z"},
		{"days are UTC", "2026-12-06T01:30:00+05:00", store.Daily, "2026-12-05T00:00:00Z"},
		{"month boundary", "2026-12-01T00:00:00.000Z", store.Daily, "2026-12-01T00:00:00Z"},
		{"before the epoch floors", "1969-12-31T23:30:00Z", store.Hourly, "1969-12-31T23:00:00Z"},
		{"sub-millisecond dropped", "2026-12-06T05:00:00.0009Z", store.Hourly, "2026-12-06T05:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, at(tt.want), store.BucketStart(at(tt.in), tt.width))
		})
	}
}

// seedUsage writes records for two tenants, two keys and two models spread
// over 40 days before now (several per hour, some hours and days apart),
// oldest first as a running service does.
func seedUsage(t *testing.T, st *store.Store, now time.Time) {
	t.Helper()
	var recs []store.Record
	i := 0
	for h := 40 * 24; h >= 0; h -= 7 {
		for j := 2; j >= 0; j-- {
			i++
			recs = append(recs, store.Record{
				Tenant: []string{"t1", "t2"}[(h/7)%2], Key: []string{"k1", "k2"}[(h/14)%2], Model: []string{"m1", "m2"}[(h/28)%2],
				RequestID: fmt.Sprintf("r%d", i), PromptTokens: int64(1 + i%5), CompletionTokens: int64(i % 7),
				Estimated: i%4 == 0, Latency: time.Duration(i) * time.Millisecond, CostMicroUSD: int64(10 * i),
				At: now.Add(-time.Duration(h)*time.Hour - time.Duration(j*13)*time.Minute),
			})
		}
	}
	require.NoError(t, st.Insert(t.Context(), recs))
}

// usageView is everything a caller can read: grouped usage over several
// day-aligned ranges and the token sums the quota asks for.
func usageView(t *testing.T, st *store.Store, now time.Time) map[string]any {
	t.Helper()
	ctx := t.Context()
	day := store.BucketStart(now, store.Daily)
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	ranges := [][2]time.Time{
		{day.AddDate(0, 0, -60), day.AddDate(0, 0, 1)},  // everything
		{day.AddDate(0, 0, -10), day.AddDate(0, 0, 1)},  // raw and hourly
		{day.AddDate(0, 0, -35), day.AddDate(0, 0, -5)}, // hourly and daily
		{day.AddDate(0, 0, -3), day.AddDate(0, 0, -1)},  // raw only
		{month, day.AddDate(0, 0, 1)},
	}
	out := map[string]any{}
	for _, tenant := range []string{"t1", "t2", "t3"} {
		for i, r := range ranges {
			for _, g := range []string{store.ByKey, store.ByModel, store.ByDay} {
				b, err := st.Usage(ctx, tenant, r[0], r[1], g)
				require.NoError(t, err)
				out[fmt.Sprintf("%s/%d/%s", tenant, i, g)] = b
			}
		}
		for _, key := range []string{"", "k1", "k2"} {
			for _, since := range []time.Time{month, day.AddDate(0, 0, -20), day.AddDate(0, 0, -2)} {
				n, err := st.TokensSince(ctx, tenant, key, since)
				require.NoError(t, err)
				out[fmt.Sprintf("%s/%s/since %s", tenant, key, since.Format(time.DateOnly))] = n
			}
		}
	}
	return out
}

// TestRollupKeepsTotals: rolling raw rows up to hours and hours up to days
// in small batches changes no usage total, grouping or quota sum, on
// SQLite and PostgreSQL, and leaves only the rows younger than each cutoff.
func TestRollupKeepsTotals(t *testing.T) {
	for name, dsn := range dialects {
		t.Run(name, func(t *testing.T) {
			st := openStore(t, dsn)
			ctx := t.Context()
			now := time.Date(2026, 12, 20, 15, 47, 0, 0, time.UTC)
			seedUsage(t, st, now)
			before := usageView(t, st, now)
			counts, err := st.UsageRowCounts(ctx)
			require.NoError(t, err)
			total := counts.Raw

			rawCut := store.BucketStart(now.AddDate(0, 0, -7), store.Hourly)
			folded := int64(0)
			var cur store.Cursor
			for {
				var n int64
				n, cur, err = st.RollUpRaw(ctx, rawCut, cur, 50)
				require.NoError(t, err)
				if n == 0 {
					break
				}
				folded += n
				require.Equal(t, before, usageView(t, st, now), "after a batch of raw rows")
			}
			counts, err = st.UsageRowCounts(ctx)
			require.NoError(t, err)
			require.Positive(t, folded)
			require.Equal(t, total-folded, counts.Raw)
			require.Positive(t, counts.Hourly)
			require.Less(t, counts.Hourly, folded, "hours hold several requests")

			dayCut := store.BucketStart(now.AddDate(0, 0, -30), store.Daily)
			cur = store.Cursor{}
			for {
				var n int64
				n, cur, err = st.RollUpHourly(ctx, dayCut, cur, 20)
				require.NoError(t, err)
				if n == 0 {
					break
				}
			}
			require.Equal(t, before, usageView(t, st, now), "after the daily rollup")
			after, err := st.UsageRowCounts(ctx)
			require.NoError(t, err)
			require.Positive(t, after.Daily)
			require.Less(t, after.Hourly, counts.Hourly)

			// Idempotent: nothing more is due, and a second pass changes nothing.
			n, _, err := st.RollUpRaw(ctx, rawCut, store.Cursor{}, 50)
			require.NoError(t, err)
			require.Zero(t, n)
			n, _, err = st.RollUpHourly(ctx, dayCut, store.Cursor{}, 50)
			require.NoError(t, err)
			require.Zero(t, n)
			require.Equal(t, before, usageView(t, st, now))

			// Rows that are due later (the raw rows right before now) are untouched.
			recent, err := st.Usage(ctx, "t1", rawCut, now.Add(time.Hour), store.ByKey)
			require.NoError(t, err)
			require.NotEmpty(t, recent)
		})
	}
}

// TestTwoSweepersAtOnce: two store handles (as two replicas would have)
// rolling up the same database at the same time fold every row exactly
// once, and only one of them holds the sweep lease at a time.
func TestTwoSweepersAtOnce(t *testing.T) {
	for name, dsn := range dialects {
		t.Run(name, func(t *testing.T) {
			d := dsn(t)
			ctx := t.Context()
			a, err := store.Open(ctx, d)
			require.NoError(t, err)
			t.Cleanup(func() { _ = a.Close() })
			b, err := store.Open(ctx, d)
			require.NoError(t, err)
			t.Cleanup(func() { _ = b.Close() })
			now := time.Date(2026, 12, 20, 15, 47, 0, 0, time.UTC)
			seedUsage(t, a, now)
			before := usageView(t, a, now)
			counts, err := a.UsageRowCounts(ctx)
			require.NoError(t, err)

			// The lease: one holder at a time, renewable by its holder,
			// taken over once expired or released.
			ok, err := a.TryLease(ctx, "usage", "a", now, time.Minute)
			require.NoError(t, err)
			require.True(t, ok)
			ok, err = b.TryLease(ctx, "usage", "b", now.Add(time.Second), time.Minute)
			require.NoError(t, err)
			require.False(t, ok, "a holds it")
			ok, err = a.TryLease(ctx, "usage", "a", now.Add(2*time.Second), time.Minute)
			require.NoError(t, err)
			require.True(t, ok, "the holder renews")
			ok, err = b.TryLease(ctx, "usage", "b", now.Add(2*time.Minute+time.Second), time.Minute)
			require.NoError(t, err)
			require.True(t, ok, "expired: b takes over")
			require.NoError(t, b.ReleaseLease(ctx, "usage", "b"))
			ok, err = a.TryLease(ctx, "usage", "a", now.Add(2*time.Minute+2*time.Second), time.Minute)
			require.NoError(t, err)
			require.True(t, ok, "released: a takes it at once")

			// Without the lease, the statements alone keep the totals
			// right: both sweep everything at once.
			rawCut := store.BucketStart(now.AddDate(0, 0, -7), store.Hourly)
			dayCut := store.BucketStart(now.AddDate(0, 0, -30), store.Daily)
			var wg sync.WaitGroup
			folded := make([]int64, 2)
			errs := make([]error, 3)
			// Meanwhile requests keep being recorded, for another tenant,
			// some of them already due (a late batch): whichever side of a
			// rollup they land on, each is counted once.
			const lateBatches, perBatch = 40, 5
			wg.Go(func() {
				for i := range lateBatches {
					recs := make([]store.Record, perBatch)
					for j := range recs {
						age := time.Duration(i%3) * 5 * 24 * time.Hour // 0, 5 or 10 days: the last are due
						recs[j] = store.Record{Tenant: "t9", Key: "k", Model: "m", PromptTokens: 2, CompletionTokens: 1, At: now.Add(-age)}
					}
					if err := a.Insert(ctx, recs); err != nil {
						errs[2] = err
						return
					}
				}
			})
			for i, st := range []*store.Store{a, b} {
				wg.Go(func() {
					var rawCur, hourCur store.Cursor
					for idle := 0; idle < 3; {
						n, next, err := st.RollUpRaw(ctx, rawCut, rawCur, 7)
						if err != nil {
							errs[i] = err
							return
						}
						m, nextHour, err := st.RollUpHourly(ctx, dayCut, hourCur, 5)
						if err != nil {
							errs[i] = err
							return
						}
						folded[i] += n
						rawCur, hourCur = next, nextHour
						if n+m == 0 {
							// A pass ends; the next one starts over (rows
							// the other sweeper had locked, or recorded
							// meanwhile, may be due).
							idle++
							rawCur, hourCur = store.Cursor{}, store.Cursor{}
						}
					}
				})
			}
			wg.Wait()
			require.NoError(t, errs[0])
			require.NoError(t, errs[1])
			require.NoError(t, errs[2])
			after, err := a.UsageRowCounts(ctx)
			require.NoError(t, err)
			require.Equal(t, counts.Raw+lateBatches*perBatch-after.Raw, folded[0]+folded[1], "each raw row folded by exactly one sweeper")
			late, err := a.Usage(ctx, "t9", now.AddDate(0, 0, -60), now.Add(time.Hour), store.ByModel)
			require.NoError(t, err)
			require.Equal(t, []store.Bucket{{Group: "m", Requests: lateBatches * perBatch, PromptTokens: 2 * lateBatches * perBatch,
				CompletionTokens: lateBatches * perBatch}}, late, "rows recorded during the sweep are all counted, once")
			require.Equal(t, before, usageView(t, a, now))
			require.Equal(t, before, usageView(t, b, now))
		})
	}
}

// TestPurgePromptLogs: the purge deletes one tenant's rows older than the
// cutoff, in batches, and nothing of another tenant's or newer.
func TestPurgePromptLogs(t *testing.T) {
	for name, dsn := range dialects {
		t.Run(name, func(t *testing.T) {
			st := openStore(t, dsn)
			ctx := t.Context()
			now := time.Date(2026, 12, 20, 15, 47, 0, 0, time.UTC)
			for _, tenant := range []string{"t1", "t2"} {
				_, err := st.PutTenantKey(ctx, tenant, store.WrappedKey{Blob: []byte("w"), KMSKeyID: "k"}, now)
				require.NoError(t, err)
				for d := range 10 {
					require.NoError(t, st.InsertPromptLog(ctx, store.PromptLog{Tenant: tenant, RequestID: fmt.Sprintf("r%d", d),
						Key: "k", Model: "m", Endpoint: "chat", Sealed: []byte{1}, At: now.AddDate(0, 0, -d)}))
				}
			}
			tenants, err := st.PromptLogTenants(ctx)
			require.NoError(t, err)
			require.Equal(t, []string{"t1", "t2"}, tenants)

			cut := now.AddDate(0, 0, -4).Add(time.Minute) // rows of 4..9 days ago
			n, err := st.PurgePromptLogs(ctx, "t1", cut, 4)
			require.NoError(t, err)
			require.EqualValues(t, 4, n)
			n, err = st.PurgePromptLogs(ctx, "t1", cut, 4)
			require.NoError(t, err)
			require.EqualValues(t, 2, n)
			n, err = st.PurgePromptLogs(ctx, "t1", cut, 4)
			require.NoError(t, err)
			require.Zero(t, n)
			left, err := st.CountPromptLogs(ctx, "t1")
			require.NoError(t, err)
			require.EqualValues(t, 4, left)
			_, err = st.PromptLog(ctx, "t1", "r3")
			require.NoError(t, err, "3 days old: kept")
			_, err = st.PromptLog(ctx, "t1", "r4")
			require.ErrorIs(t, err, store.ErrNotFound)
			other, err := st.CountPromptLogs(ctx, "t2")
			require.NoError(t, err)
			require.EqualValues(t, 10, other, "another tenant's logs are untouched")
		})
	}
}
