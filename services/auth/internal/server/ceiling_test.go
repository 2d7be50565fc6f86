package server_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
)

// Escalation review 2026-12-06: tenant limits are the platform's quota on a
// tenant, yet a tenant's owner could replace the limits the platform
// operator set with none (`PUT /v1/tenants/{id}/limits {}`) and spend
// without a budget on any model. Limits the platform admin sets on a tenant
// are now its ceiling (ADR 0058): the tenant's owners may only narrow
// within it.

func TestOwnerCannotLiftPlatformLimits(t *testing.T) { forEachStore(t, ownerCannotLiftPlatformLimits) }

func ownerCannotLiftPlatformLimits(t *testing.T, e *env) {
	tid, owner := e.tenant(t, "acme")
	tc := authv1.NewTenantServiceClient(e.edge)
	set := func(key string, l *authv1.TenantLimits) error {
		_, err := tc.UpdateTenantLimits(e.as(t, key), &authv1.UpdateTenantLimitsRequest{TenantId: tid, Limits: l})
		return err
	}

	// Before the platform sets anything, the owner's limits are self-imposed:
	// she may set and lift them.
	require.NoError(t, set(owner, &authv1.TenantLimits{MonthlyTokenBudget: 10}))
	require.NoError(t, set(owner, &authv1.TenantLimits{AllowedModels: []string{"echo", "big"}}))

	platform := &authv1.TenantLimits{RequestsPerMinute: 60, TokensPerMinute: 1000, MonthlyTokenBudget: 5000, AllowedModels: []string{"echo", "small"}}
	require.NoError(t, set(e.platformKey, platform))

	for _, tt := range []struct {
		name  string
		l     *authv1.TenantLimits
		field string
	}{
		{"no limits at all", &authv1.TenantLimits{}, "limits.requests_per_minute"},
		{"no budget", &authv1.TenantLimits{RequestsPerMinute: 60, TokensPerMinute: 1000, AllowedModels: []string{"echo"}}, "limits.monthly_token_budget"},
		{"a bigger budget", &authv1.TenantLimits{RequestsPerMinute: 60, TokensPerMinute: 1000, MonthlyTokenBudget: 5001, AllowedModels: []string{"echo"}}, "limits.monthly_token_budget"},
		{"more tokens per minute", &authv1.TenantLimits{RequestsPerMinute: 60, TokensPerMinute: 1001, MonthlyTokenBudget: 10, AllowedModels: []string{"echo"}}, "limits.tokens_per_minute"},
		{"every model", &authv1.TenantLimits{RequestsPerMinute: 60, TokensPerMinute: 1000, MonthlyTokenBudget: 10}, "limits.allowed_models"},
		{"another model", &authv1.TenantLimits{RequestsPerMinute: 60, TokensPerMinute: 1000, MonthlyTokenBudget: 10, AllowedModels: []string{"echo", "big"}}, "limits.allowed_models[1]"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := set(owner, tt.l)
			require.Equal(t, codes.PermissionDenied, code(err), "%v", err)
			require.Contains(t, status.Convert(err).Message(), tt.field+":")
		})
	}
	resp, err := e.verify(t.Context(), owner)
	require.NoError(t, err)
	require.EqualValues(t, 5000, resp.GetPrincipal().GetLimits().GetTenantMonthlyTokenBudget(), "the platform's budget still binds")
	require.Equal(t, []string{"echo", "small"}, resp.GetPrincipal().GetAllowedModels())

	// Narrowing within the ceiling is the owner's to do, and to undo.
	require.NoError(t, set(owner, &authv1.TenantLimits{RequestsPerMinute: 30, TokensPerMinute: 1000, MonthlyTokenBudget: 100, AllowedModels: []string{"echo"}}))
	resp, err = e.verify(t.Context(), owner)
	require.NoError(t, err)
	require.EqualValues(t, 100, resp.GetPrincipal().GetLimits().GetTenantMonthlyTokenBudget())
	require.NoError(t, set(owner, platform), "back up to the ceiling")

	// The platform admin moves the ceiling; lifting it lifts the owner's bound.
	require.NoError(t, set(e.platformKey, &authv1.TenantLimits{}))
	require.NoError(t, set(owner, &authv1.TenantLimits{AllowedModels: []string{"big"}}))
}
