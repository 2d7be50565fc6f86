package server_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	"github.com/rampart-platform/rampart/services/inference/internal/store"
)

// TestUsageAcrossRollup: GetUsage over ranges that span raw rows, hourly
// and daily rollups answers the same before and after the service's own
// retention sweeper ran, and the sweeper did roll rows up.
func TestUsageAcrossRollup(t *testing.T) {
	e := newEnv(t)
	app := e.srv.App()
	require.NotNil(t, app.Sweeper, "the test server runs the sweeper with the default policy")
	now := time.Now().UTC()
	var recs []store.Record
	for h := 120 * 24; h >= 0; h -= 3 { // 120 days, oldest first
		recs = append(recs, store.Record{Tenant: "tr", Key: []string{"k1", "k2"}[h%2], Model: "echo", PromptTokens: 5, CompletionTokens: 2,
			CostMicroUSD: 3, At: now.Add(-time.Duration(h) * time.Hour)})
	}
	require.NoError(t, app.Store.Insert(t.Context(), recs))

	today := now.Format(time.DateOnly)
	ranges := []*inferencev1.GetUsageRequest{
		{From: now.AddDate(0, 0, -200).Format(time.DateOnly), To: today, GroupBy: "key"},
		{From: now.AddDate(0, 0, -100).Format(time.DateOnly), To: now.AddDate(0, 0, -80).Format(time.DateOnly), GroupBy: "day"},
		{From: now.AddDate(0, 0, -10).Format(time.DateOnly), To: today, GroupBy: "model"},
		{From: now.AddDate(0, 0, -3).Format(time.DateOnly), To: today, GroupBy: "key"},
		{GroupBy: "key"},
	}
	get := func() []*inferencev1.GetUsageResponse {
		out := make([]*inferencev1.GetUsageResponse, len(ranges))
		for i, r := range ranges {
			resp, err := e.client.GetUsage(e.ctx(t, principalFor("tr", "k1")), r)
			require.NoError(t, err)
			out[i] = resp
		}
		return out
	}
	before := get()
	require.Equal(t, int64(len(recs)), before[0].GetTotal().GetRequests())

	// The server's own sweeper pass at start may already be folding these
	// rows (it runs in the background); this pass finishes whatever is due.
	res, err := app.Sweeper.Sweep(t.Context())
	require.NoError(t, err)
	require.True(t, res.Leased)
	counts, err := app.Store.UsageRowCounts(t.Context())
	require.NoError(t, err)
	require.Less(t, counts.Raw, int64(len(recs)), "raw rows older than 7 days are rolled up")
	require.Positive(t, counts.Hourly)
	require.Positive(t, counts.Daily)

	after := get()
	for i := range before {
		// The default range ends now: compare what was counted, not the echoed range.
		require.Len(t, after[i].GetBuckets(), len(before[i].GetBuckets()), "range %d", i)
		for j := range before[i].GetBuckets() {
			require.True(t, proto.Equal(before[i].GetBuckets()[j], after[i].GetBuckets()[j]), "range %d: before %v, after %v", i, before[i], after[i])
		}
		require.True(t, proto.Equal(before[i].GetTotal(), after[i].GetTotal()), "range %d: before %v, after %v", i, before[i], after[i])
	}
}
