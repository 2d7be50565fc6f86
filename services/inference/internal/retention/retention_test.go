package retention_test

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/inference/internal/retention"
	"github.com/rampart-platform/rampart/services/inference/internal/store"
)

func day(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }

func policy() retention.Policy {
	return retention.Policy{RawUsage: day(7), HourlyUsage: day(90), PromptLogs: func(tenant string) time.Duration {
		if tenant == "short" {
			return day(2)
		}
		return day(30)
	}}
}

func TestPolicyValidate(t *testing.T) {
	t.Parallel()
	keep := func(string) time.Duration { return day(30) }
	tests := []struct {
		name string
		p    retention.Policy
		bad  string
	}{
		{"defaults", retention.Policy{RawUsage: day(7), HourlyUsage: day(90), PromptLogs: keep}, ""},
		{"an hour of raw rows", retention.Policy{RawUsage: time.Hour, HourlyUsage: day(1) + time.Hour, PromptLogs: keep}, ""},
		{"raw under an hour", retention.Policy{RawUsage: time.Minute, HourlyUsage: day(90), PromptLogs: keep}, "raw usage retention must be at least 1h"},
		{"hourly not longer than raw", retention.Policy{RawUsage: day(7), HourlyUsage: day(7), PromptLogs: keep}, "hourly usage retention"},
		{"no prompt log retention", retention.Policy{RawUsage: day(7), HourlyUsage: day(90)}, "prompt log retention missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.p.Validate()
			if tt.bad == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.bad)
		})
	}
}

// TestCutoffs: the rollup cutoffs are aligned down to the hour (raw) and
// the UTC day (hourly), so only whole buckets are folded.
func TestCutoffs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		now             time.Time
		wantRaw, wantHr time.Time
	}{
		{time.Date(2026, 12, 20, 15, 47, 12, 0, time.UTC), time.Date(2026, 12, 13, 15, 0, 0, 0, time.UTC), time.Date(2026, 9, 21, 0, 0, 0, 0, time.UTC)},
		{time.Date(2026, 12, 20, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 13, 0, 0, 0, 0, time.UTC), time.Date(2026, 9, 21, 0, 0, 0, 0, time.UTC)},
		{time.Date(2026, 3, 1, 0, 30, 0, 0, time.FixedZone("x", 3600)), time.Date(2026, 2, 21, 23, 0, 0, 0, time.UTC), time.Date(2025, 11, 30, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		raw, hr := policy().Cutoffs(tt.now)
		require.Equal(t, tt.wantRaw, raw, tt.now)
		require.Equal(t, tt.wantHr, hr, tt.now)
	}
}

// TestSweep: one pass rolls up what is due, purges each tenant's prompt
// logs after its own retention, counts it in the metrics, and leaves the
// usage totals as they were; a second sweeper on the same database at the
// same time finds the lease taken and does nothing.
func TestSweep(t *testing.T) {
	ctx := t.Context()
	dsn := filepath.Join(t.TempDir(), "usage.db")
	st, err := store.Open(ctx, dsn)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	now := time.Date(2026, 12, 20, 15, 47, 0, 0, time.UTC)

	var recs []store.Record
	for h := 120 * 24; h >= 0; h -= 5 { // 120 days, oldest first
		recs = append(recs, store.Record{Tenant: "t1", Key: fmt.Sprintf("k%d", h%2), Model: "m", PromptTokens: 3, CompletionTokens: 2,
			CostMicroUSD: 7, At: now.Add(-time.Duration(h) * time.Hour)})
	}
	require.NoError(t, st.Insert(ctx, recs))
	for _, tenant := range []string{"short", "long"} {
		_, err := st.PutTenantKey(ctx, tenant, store.WrappedKey{Blob: []byte("w"), KMSKeyID: "k"}, now)
		require.NoError(t, err)
		for d := range 40 {
			require.NoError(t, st.InsertPromptLog(ctx, store.PromptLog{Tenant: tenant, RequestID: fmt.Sprint(d), Key: "k", Model: "m",
				Endpoint: "chat", Sealed: []byte{1}, At: now.Add(-day(d) + time.Minute)}))
			require.NoError(t, st.InsertStoredResponse(ctx, store.StoredResponse{Tenant: tenant, ID: fmt.Sprintf("resp_%d", d),
				Sealed: []byte{1}, At: now.Add(-day(d) + time.Minute)}))
		}
	}
	total := func() []store.Bucket {
		b, err := st.Usage(ctx, "t1", now.AddDate(-1, 0, 0), now.Add(time.Hour), store.ByKey)
		require.NoError(t, err)
		return b
	}
	month, err := st.TokensSince(ctx, "t1", "", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	before := total()

	regs := []*prometheus.Registry{prometheus.NewRegistry(), prometheus.NewRegistry()}
	log := slog.New(slog.DiscardHandler)
	a, err := retention.New(st, policy(), log, retention.Options{Registerer: regs[0], Now: func() time.Time { return now }})
	require.NoError(t, err)
	b, err := retention.New(st, policy(), log, retention.Options{Registerer: regs[1], Now: func() time.Time { return now }})
	require.NoError(t, err)

	var wg sync.WaitGroup
	results := make([]retention.Result, 2)
	errs := make([]error, 2)
	for i, s := range []*retention.Sweeper{a, b} {
		wg.Go(func() { results[i], errs[i] = s.Sweep(ctx) })
	}
	wg.Wait()
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	require.NotEqual(t, results[0].Leased, results[1].Leased, "exactly one sweeper holds the lease: %+v", results)
	r, reg, follower, leader := results[0], regs[0], regs[1], a
	if !r.Leased {
		r, reg, follower, leader = results[1], regs[1], regs[0], b
	}
	require.Positive(t, r.RawRolledUp)
	require.Positive(t, r.HourlyRolledUp)
	require.EqualValues(t, 37+9, r.PromptLogsPurged, "of 40 daily logs, short keeps those of the last 2 days (3), long of 30 days (31)")
	require.EqualValues(t, 37+9, r.StoredResponsesPurged, "stored responses are kept as long as the tenant's prompt logs")

	require.Equal(t, before, total())
	after, err := st.TokensSince(ctx, "t1", "", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	require.Equal(t, month, after, "the monthly budget sum is unchanged")
	counts, err := st.UsageRowCounts(ctx)
	require.NoError(t, err)
	require.Positive(t, counts.Daily)
	for tenant, want := range map[string]int64{"short": 3, "long": 31} {
		n, err := st.CountPromptLogs(ctx, tenant)
		require.NoError(t, err)
		require.Equal(t, want, n, tenant)
		n, err = st.CountStoredResponses(ctx, tenant)
		require.NoError(t, err)
		require.Equal(t, want, n, tenant)
	}

	require.InDelta(t, 1, counter(t, follower, "rampart_inference_retention_sweeps_total", "not_leader"), 0)
	require.InDelta(t, 1, counter(t, reg, "rampart_inference_retention_sweeps_total", "ok"), 0)
	require.InDelta(t, float64(r.RawRolledUp), counter(t, reg, "rampart_inference_usage_rows_rolled_up_total", "raw"), 0)
	require.InDelta(t, float64(r.HourlyRolledUp), counter(t, reg, "rampart_inference_usage_rows_rolled_up_total", "hourly"), 0)
	require.InDelta(t, float64(r.PromptLogsPurged), counter(t, reg, "rampart_inference_prompt_logs_purged_total", ""), 0)
	require.InDelta(t, float64(r.StoredResponsesPurged), counter(t, reg, "rampart_inference_stored_responses_purged_total", ""), 0)

	// Nothing more is due: the leader's next pass does nothing.
	again, err := leader.Sweep(ctx)
	require.NoError(t, err)
	require.True(t, again.Leased, "the holder renews its lease")
	require.Zero(t, again.RawRolledUp+again.HourlyRolledUp+again.PromptLogsPurged+again.StoredResponsesPurged)
	require.Equal(t, before, total())
}

// counter reads one series of a registered counter by its label value.
func counter(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if label == "" || (len(m.GetLabel()) > 0 && m.GetLabel()[0].GetValue() == label) {
				return m.GetCounter().GetValue()
			}
		}
	}
	require.Failf(t, "no such series", "%s{%s}", name, label)
	return 0
}
