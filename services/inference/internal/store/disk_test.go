package store_test

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/inference/internal/store"
)

// TestUsageDiskUse measures the disk the usage tables take per request
// before and after the rollups (docs/performance.md). It writes
// RAMPART_USAGE_DISK_ROWS raw rows (skipped when unset: a million rows take
// a while) for 1 tenant, 20 keys and 3 models spread evenly over 30 days,
// then rolls raw rows older than 7 days into hours (the default) and hours
// older than 20 days into days (earlier than the default 90, to measure
// daily rows too).
//
//	RAMPART_USAGE_DISK_ROWS=1000000 go test -run TestUsageDiskUse -v ./internal/store/
func TestUsageDiskUse(t *testing.T) {
	rows, _ := strconv.Atoi(os.Getenv("RAMPART_USAGE_DISK_ROWS"))
	if rows <= 0 {
		t.Skip("set RAMPART_USAGE_DISK_ROWS to measure")
	}
	for name, dsn := range dialects {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			st, err := store.Open(ctx, dsn(t))
			require.NoError(t, err)
			t.Cleanup(func() { _ = st.Close() })
			now := time.Date(2026, 12, 20, 0, 0, 0, 0, time.UTC)
			empty, err := store.DiskBytes(ctx, st)
			require.NoError(t, err)
			span := 30 * 24 * time.Hour
			batch := make([]store.Record, 0, 512)
			for i := range rows {
				// Oldest first, as a running service writes them.
				batch = append(batch, store.Record{Tenant: "tenant-0123456789", Key: fmt.Sprintf("key-%02d-0123456789abcdef", i%20),
					Model: []string{"gpt-4o-mini", "gpt-4o", "text-embedding-3-small"}[i%3], RequestID: fmt.Sprintf("req-%016x", i),
					PromptTokens: int64(100 + i%900), CompletionTokens: int64(i % 500), Latency: time.Duration(i%2000) * time.Millisecond,
					CostMicroUSD: int64(i % 3000), At: now.Add(-span + time.Duration(int64(span)/int64(rows)*int64(i)))})
				if len(batch) == cap(batch) || i == rows-1 {
					require.NoError(t, st.Insert(ctx, batch))
					batch = batch[:0]
				}
			}
			raw, err := store.DiskBytes(ctx, st)
			require.NoError(t, err)
			before, err := st.Usage(ctx, "tenant-0123456789", now.Add(-2*span), now.Add(time.Hour), store.ByModel)
			require.NoError(t, err)

			start := time.Now()
			var folded int64
			var cur store.Cursor
			for {
				var n int64
				n, cur, err = st.RollUpRaw(ctx, now.Add(-7*24*time.Hour), cur, 2000)
				require.NoError(t, err)
				if n == 0 {
					break
				}
				folded += n
			}
			cur = store.Cursor{}
			for {
				var n int64
				n, cur, err = st.RollUpHourly(ctx, now.Add(-20*24*time.Hour), cur, 2000)
				require.NoError(t, err)
				if n == 0 {
					break
				}
			}
			took := time.Since(start)
			after, err := store.DiskBytes(ctx, st)
			require.NoError(t, err)
			counts, err := st.UsageRowCounts(ctx)
			require.NoError(t, err)
			got, err := st.Usage(ctx, "tenant-0123456789", now.Add(-2*span), now.Add(time.Hour), store.ByModel)
			require.NoError(t, err)
			require.Equal(t, before, got, "totals unchanged by the rollup")
			require.Less(t, after, raw)
			t.Logf("%s: %d rows: %.1f MB raw (%.0f B/row); rolled up %d rows in %s; after: %.2f MB (%d raw, %d hourly, %d daily rows; %.0f B per rollup row)",
				name, rows, float64(raw-empty)/1e6, float64(raw-empty)/float64(rows), folded, took.Round(time.Millisecond),
				float64(after-empty)/1e6, counts.Raw, counts.Hourly, counts.Daily,
				(float64(after-empty)-float64(counts.Raw)*float64(raw-empty)/float64(rows))/float64(counts.Hourly+counts.Daily))
		})
	}
}
