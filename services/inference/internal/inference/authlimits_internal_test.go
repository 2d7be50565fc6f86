package inference

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/inference/internal/quota"
)

// testService is a Service with only what jobLimits and NoteTenantLimits
// read, on a clock the test moves.
func testService(auth AuthLimitsFunc) (*Service, *time.Time) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	s := &Service{Deps: Deps{Log: slog.New(slog.DiscardHandler), AuthLimits: auth},
		authCache: newAuthCache(), seenCache: newSeenCache()}
	s.now = func() time.Time { return now }
	return s, &now
}

// The limits seen on principals are bounded (at most maxAuthLimits
// tenants, least recently used dropped) and forgotten SeenLimitsTTL after
// the tenant's last call, refreshed while it calls (ADR 0111 §2); before,
// a sync.Map kept every tenant ever seen for the process's life.
func TestSeenLimitsAreBoundedAndExpire(t *testing.T) {
	s, now := testService(nil)
	seen := &Caller{Tenant: "ta", Limits: quota.Limits{TenantTPM: 7}, TenantAllowedModels: []string{"emb"}}
	s.NoteTenantLimits(seen)
	b, err := s.jobLimits(t.Context(), "ta", nil)
	require.NoError(t, err)
	require.Equal(t, int64(7), b.limits.TenantTPM)
	require.False(t, b.allows("other", "other"), "the seen ceiling binds")
	require.True(t, b.allows("emb", "emb"))

	// Calls keep it; silence forgets it (jobs then wait for auth or a call).
	for range 4 {
		*now = now.Add(SeenLimitsTTL / 2)
		s.NoteTenantLimits(seen)
	}
	_, err = s.jobLimits(t.Context(), "ta", nil)
	require.NoError(t, err, "refreshed by the tenant's calls")
	*now = now.Add(SeenLimitsTTL + time.Second)
	_, err = s.jobLimits(t.Context(), "ta", nil)
	require.ErrorIs(t, err, ErrTenantLimitsUnknown)

	// Bounded: a replica seeing more tenants than the bound keeps at most
	// the bound, the least recently seen dropped.
	for i := range maxAuthLimits + 10 {
		s.NoteTenantLimits(&Caller{Tenant: fmt.Sprintf("t%d", i)})
	}
	require.LessOrEqual(t, s.seenCache.Len(), maxAuthLimits)
	_, err = s.jobLimits(t.Context(), "t0", nil)
	require.ErrorIs(t, err, ErrTenantLimitsUnknown)
	_, err = s.jobLimits(t.Context(), fmt.Sprintf("t%d", maxAuthLimits+9), nil)
	require.NoError(t, err)
}

// Seen and carried values only narrow auth's stored ones, the model
// ceiling included; auth unreachable keeps a seen tenant's seen values.
func TestJobBoundsOnlyNarrowAuths(t *testing.T) {
	var authErr error
	auth := func(context.Context, string) (TenantLimits, error) {
		return TenantLimits{Limits: quota.Limits{TenantTPM: 100, TenantBudget: 1000}, Models: []string{"emb", "emb-big"}}, authErr
	}
	s, _ := testService(auth)
	b, err := s.jobLimits(t.Context(), "ta", &quota.Limits{})
	require.NoError(t, err)
	require.Equal(t, quota.Limits{TenantTPM: 100, TenantBudget: 1000}, b.limits, "carried zeros lift nothing")
	require.True(t, b.allows("emb-big", "emb-big"))
	require.False(t, b.allows("other", "other"), "auth's ceiling binds a job")

	s.NoteTenantLimits(&Caller{Tenant: "ta", Limits: quota.Limits{TenantTPM: 500, TenantBudget: 10}, TenantAllowedModels: []string{"emb", "other"}})
	b, err = s.jobLimits(t.Context(), "ta", &quota.Limits{TenantTPM: 50})
	require.NoError(t, err)
	require.Equal(t, quota.Limits{TenantTPM: 50, TenantBudget: 10}, b.limits)
	require.True(t, b.allows("emb", "emb"))
	require.False(t, b.allows("other", "other"), "a seen ceiling does not widen auth's")
	require.False(t, b.allows("emb-big", "emb-big"), "a seen ceiling narrows auth's")

	authErr = errors.New("auth down")
	s.authCache.Clear()
	b, err = s.jobLimits(t.Context(), "ta", nil)
	require.NoError(t, err)
	require.Equal(t, quota.Limits{TenantTPM: 500, TenantBudget: 10}, b.limits)
	require.False(t, b.allows("emb-big", "emb-big"))
	_, err = s.jobLimits(t.Context(), "tb", nil)
	require.ErrorIs(t, err, ErrTenantLimitsUnreachable)
}
