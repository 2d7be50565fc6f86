package quota_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/inference/internal/apierr"
	"github.com/rampart-platform/rampart/services/inference/internal/quota"
)

func TestTokensPerMinute(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	e := quota.New(nil)
	e.SetClock(func() time.Time { return now })
	s, l := quota.Subject{Tenant: "t", Key: "k"}, quota.Limits{KeyTPM: 600}
	_, err := e.Check(t.Context(), s, l)
	require.NoError(t, err)
	e.Charge(t.Context(), s, l, 650) // into debt
	_, err = e.Check(t.Context(), s, l)
	ae, ok := apierr.As(err)
	require.True(t, ok)
	require.Equal(t, "rate_limit_exceeded", ae.Code)
	require.Equal(t, 5100*time.Millisecond, ae.RetryAfter) // 51 tokens at 10/s
	// The refusal carries OpenAI's token headers of the refusing bucket:
	// nothing left, and the reset is the wait Retry-After rounds up.
	require.Equal(t, map[string]string{"x-ratelimit-limit-tokens": "600", "x-ratelimit-remaining-tokens": "0",
		"x-ratelimit-reset-tokens": "5.1s"}, ae.Headers)
	now = now.Add(6 * time.Second)
	st, err := e.Check(t.Context(), s, l)
	require.NoError(t, err)
	require.Equal(t, int64(600), st.LimitTokens)
	// Another key of the same tenant is unaffected.
	_, err = e.Check(t.Context(), quota.Subject{Tenant: "t", Key: "k2"}, l)
	require.NoError(t, err)
}

func TestMonthlyBudget(t *testing.T) {
	now := time.Date(2026, 11, 30, 23, 0, 0, 0, time.UTC)
	seeded := 0
	e := quota.New(func(_ context.Context, _, _ string, since time.Time) (int64, error) {
		seeded++
		require.Equal(t, time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC), since)
		return 90, nil
	})
	e.SetClock(func() time.Time { return now })
	s, l := quota.Subject{Tenant: "t", Key: "k"}, quota.Limits{TenantBudget: 100}
	_, err := e.Check(t.Context(), s, l)
	require.NoError(t, err)
	e.Charge(t.Context(), s, l, 10)
	_, err = e.Check(t.Context(), s, l)
	ae, ok := apierr.As(err)
	require.True(t, ok)
	require.Equal(t, "insufficient_quota", ae.Code)
	require.Equal(t, 1, seeded, "seeded once, then counted in memory")
	now = now.Add(2 * time.Hour) // a new month
	_, err = e.Check(t.Context(), s, l)
	require.NoError(t, err)
}

// A tenant's budget binds every key of the tenant: a key minted after the
// budget ran out (with no key budget of its own) is refused too.
func TestTenantBudgetBindsEveryKey(t *testing.T) {
	e := quota.New(nil)
	l := quota.Limits{TenantBudget: 100}
	_, err := e.Check(t.Context(), quota.Subject{Tenant: "t", Key: "old"}, l)
	require.NoError(t, err)
	e.Charge(t.Context(), quota.Subject{Tenant: "t", Key: "old"}, l, 100)
	for _, key := range []string{"old", "fresh"} {
		_, err := e.Check(t.Context(), quota.Subject{Tenant: "t", Key: key}, l)
		ae, ok := apierr.As(err)
		require.True(t, ok, "%s: %v", key, err)
		require.Equal(t, "insufficient_quota", ae.Code)
		require.Contains(t, ae.Message, "organization")
	}
}

// A key replaced by rotation, or minted by a budgeted key, draws from its
// origin's monthly counter: neither starts a fresh budget.
func TestBudgetKeyIsShared(t *testing.T) {
	e := quota.New(nil)
	origin := quota.Limits{KeyBudget: 100}
	_, err := e.Check(t.Context(), quota.Subject{Tenant: "t", Key: "k1"}, origin)
	require.NoError(t, err)
	e.Charge(t.Context(), quota.Subject{Tenant: "t", Key: "k1"}, origin, 100)
	replacement := quota.Limits{KeyBudget: 100, BudgetKey: "k1"}
	_, err = e.Check(t.Context(), quota.Subject{Tenant: "t", Key: "k2"}, replacement)
	ae, ok := apierr.As(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, "insufficient_quota", ae.Code)
	// A key of its own is unaffected.
	_, err = e.Check(t.Context(), quota.Subject{Tenant: "t", Key: "k3"}, quota.Limits{KeyBudget: 100})
	require.NoError(t, err)
}

// A month counter, once seeded, follows every charge of its tenant — also
// charges made while the caller's limits carried no budget (a budget
// removed and set again, a key without one): the budget, when it applies
// again, sees them.
func TestMonthCounterFollowsChargesWithoutBudget(t *testing.T) {
	e := quota.New(func(context.Context, string, string, time.Time) (int64, error) { return 90, nil })
	s := quota.Subject{Tenant: "t", Key: "k"}
	budget := quota.Limits{TenantBudget: 100}
	// Nothing seeded: a charge without a budget has no counter to follow.
	e.Charge(t.Context(), s, quota.Limits{}, 5)
	_, err := e.Check(t.Context(), s, budget) // seeds 90
	require.NoError(t, err)
	e.Charge(t.Context(), s, quota.Limits{}, 10) // no budget on this call
	_, err = e.Check(t.Context(), s, budget)
	ae, ok := apierr.As(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, "insufficient_quota", ae.Code)
}

// BenchmarkChargeNoLimits: what a request without TPM limits or budgets
// (the bench's admin key) pays to be charged.
func BenchmarkChargeNoLimits(b *testing.B) {
	e := quota.New(nil)
	s := quota.Subject{Tenant: "tenant-0123456789abcdef", Key: "key-0123456789abcdef"}
	b.ReportAllocs()
	for b.Loop() {
		e.Charge(b.Context(), s, quota.Limits{}, 23)
	}
}
