package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/grpcerr"
)

func TestTenantLimits(t *testing.T) { forEachStore(t, tenantLimits) }

func tenantLimits(t *testing.T, e *env) {
	tid, owner := e.tenant(t, "acme")
	otherTID, _ := e.tenant(t, "other")
	admin := e.member(t, owner, "admin@acme", authv1.Role_ROLE_ADMIN, "admin")
	member := e.member(t, owner, "dev@acme", authv1.Role_ROLE_MEMBER, "chat:write", "keys:write")
	tc, kc := authv1.NewTenantServiceClient(e.edge), authv1.NewKeyServiceClient(e.edge)
	limits := &authv1.TenantLimits{RequestsPerMinute: 100, TokensPerMinute: 5000, MonthlyTokenBudget: 100000, AllowedModels: []string{"echo", "small"}}

	t.Run("who may set them", func(t *testing.T) {
		for _, tt := range []struct {
			name   string
			key    string
			tenant string
			want   codes.Code
		}{
			{"member", member, tid, codes.PermissionDenied},
			{"admin", admin, tid, codes.PermissionDenied},
			{"owner of another tenant", owner, otherTID, codes.NotFound},
			{"owner", owner, tid, codes.OK},
			{"platform admin", e.platformKey, otherTID, codes.OK},
		} {
			t.Run(tt.name, func(t *testing.T) {
				_, err := tc.UpdateTenantLimits(e.as(t, tt.key), &authv1.UpdateTenantLimitsRequest{TenantId: tt.tenant, Limits: limits})
				require.Equal(t, tt.want, code(err), "%v", err)
			})
		}
		got, err := tc.GetTenant(e.as(t, owner), &authv1.GetTenantRequest{TenantId: tid})
		require.NoError(t, err)
		require.Equal(t, limits.GetAllowedModels(), got.GetTenant().GetLimits().GetAllowedModels())
		require.EqualValues(t, 100000, got.GetTenant().GetLimits().GetMonthlyTokenBudget())
		_, err = tc.UpdateTenantLimits(e.as(t, owner), &authv1.UpdateTenantLimitsRequest{TenantId: tid, Limits: &authv1.TenantLimits{TokensPerMinute: -1}})
		requireField(t, err, "limits.tokens_per_minute")
		_, err = tc.UpdateTenantLimits(e.as(t, owner), &authv1.UpdateTenantLimitsRequest{TenantId: tid})
		requireField(t, err, "limits")
	})

	t.Run("every key carries the tenant's limits", func(t *testing.T) {
		resp, err := e.verify(t.Context(), member)
		require.NoError(t, err)
		l := resp.GetPrincipal().GetLimits()
		require.EqualValues(t, 100, l.GetTenantRequestsPerMinute())
		require.EqualValues(t, 5000, l.GetTenantTokensPerMinute())
		require.EqualValues(t, 100000, l.GetTenantMonthlyTokenBudget())
		require.Equal(t, []string{"echo", "small"}, resp.GetPrincipal().GetAllowedModels(), "no key list: the tenant's")
	})

	t.Run("key limits only narrow the tenant's", func(t *testing.T) {
		for _, tt := range []struct {
			name  string
			req   *authv1.CreateKeyRequest
			field string
		}{
			{"budget above the tenant's", &authv1.CreateKeyRequest{Limits: &authv1.Limits{MonthlyTokenBudget: 100001}}, "limits.monthly_token_budget"},
			{"rpm above the tenant's", &authv1.CreateKeyRequest{Limits: &authv1.Limits{RequestsPerMinute: 101}}, "limits.requests_per_minute"},
			{"a model the tenant lacks", &authv1.CreateKeyRequest{AllowedModels: []string{"echo", "big"}}, "allowed_models[1]"},
			{"a tenant limit on a key", &authv1.CreateKeyRequest{Limits: &authv1.Limits{TenantMonthlyTokenBudget: 5}}, "limits.tenant_monthly_token_budget"},
			{"a tenant stream cap on a key", &authv1.CreateKeyRequest{Limits: &authv1.Limits{TenantMaxConcurrentStreams: 5}}, "limits.tenant_max_concurrent_streams"},
			{"a platform stream cap on a key", &authv1.CreateKeyRequest{Limits: &authv1.Limits{PlatformMaxConcurrentStreams: 500}}, "limits.platform_max_concurrent_streams"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				tt.req.Name, tt.req.Scopes = "k", []string{"chat:write"}
				_, err := kc.CreateKey(e.as(t, owner), tt.req)
				requireField(t, err, tt.field)
			})
		}
		k, err := kc.CreateKey(e.as(t, owner), &authv1.CreateKeyRequest{Name: "k", Scopes: []string{"chat:write"}, AllowedModels: []string{"small"},
			Limits: &authv1.Limits{MonthlyTokenBudget: 10}})
		require.NoError(t, err)
		resp, err := e.verify(t.Context(), k.GetApiKey())
		require.NoError(t, err)
		require.Equal(t, []string{"small"}, resp.GetPrincipal().GetAllowedModels())
		require.Equal(t, []string{"echo", "small"}, resp.GetPrincipal().GetTenantAllowedModels(),
			"the tenant's own list, for jobs run without a key (ADR 0065)")
		require.EqualValues(t, 10, resp.GetPrincipal().GetLimits().GetMonthlyTokenBudget())
		require.EqualValues(t, 100000, resp.GetPrincipal().GetLimits().GetTenantMonthlyTokenBudget())

		// Narrowing the tenant later narrows existing keys; a key left with
		// no shared model may use none (never "all").
		_, err = tc.UpdateTenantLimits(e.as(t, owner), &authv1.UpdateTenantLimitsRequest{TenantId: tid, Limits: &authv1.TenantLimits{AllowedModels: []string{"echo"}}})
		require.NoError(t, err)
		resp, err = e.verify(t.Context(), k.GetApiKey())
		require.NoError(t, err)
		require.Equal(t, []string{"-"}, resp.GetPrincipal().GetAllowedModels())
		require.Equal(t, []string{"echo"}, resp.GetPrincipal().GetTenantAllowedModels())
	})
}

func TestRecoverOwner(t *testing.T) {
	e := newEnv(t)
	tid, owner := e.tenant(t, "acme")
	req := &authv1.RecoverOwnerRequest{TenantId: tid}
	_, err := authv1.NewAuthServiceClient(e.edge).RecoverOwner(e.as(t, e.platformKey), req)
	require.Equal(t, codes.PermissionDenied, code(err), "not through the edge, not even for the platform admin")
	_, err = authv1.NewAuthServiceClient(e.keyvault).RecoverOwner(t.Context(), req)
	require.Equal(t, codes.PermissionDenied, code(err))

	// The tenant loses its owner key: the owner made a second owner key
	// (which expires with the first), revoked the first, and the second
	// expired.
	spare := e.ownKey(t, owner, &authv1.CreateKeyRequest{Name: "spare", Scopes: []string{"admin"}})
	_, err = authv1.NewKeyServiceClient(e.edge).RevokeKey(e.as(t, spare), &authv1.RevokeKeyRequest{KeyId: owner[3:15]})
	require.NoError(t, err)
	e.clock.Advance(91 * 24 * time.Hour)
	_, err = e.verify(t.Context(), spare)
	require.Equal(t, codes.Unauthenticated, code(err))

	cli := authv1.NewAuthServiceClient(e.cli)
	rec, err := cli.RecoverOwner(t.Context(), req)
	require.NoError(t, err)
	require.Equal(t, "owner@acme", rec.GetSubject())
	e.plaintexts = append(e.plaintexts, rec.GetApiKey())
	resp, err := e.verify(t.Context(), rec.GetApiKey())
	require.NoError(t, err)
	require.Equal(t, []string{"owner"}, resp.GetPrincipal().GetRoles())
	require.Equal(t, []string{"admin"}, resp.GetPrincipal().GetScopes())
	require.Equal(t, tid, resp.GetPrincipal().GetTenantId())

	// A named new subject becomes owner.
	rec2, err := cli.RecoverOwner(t.Context(), &authv1.RecoverOwnerRequest{TenantId: tid, Subject: "new-owner@acme"})
	require.NoError(t, err)
	e.plaintexts = append(e.plaintexts, rec2.GetApiKey())
	resp, err = e.verify(t.Context(), rec2.GetApiKey())
	require.NoError(t, err)
	require.Equal(t, "new-owner@acme", resp.GetPrincipal().GetSubject())
	require.Equal(t, []string{"owner"}, resp.GetPrincipal().GetRoles())

	_, err = cli.RecoverOwner(t.Context(), &authv1.RecoverOwnerRequest{TenantId: "t_nope"})
	require.Equal(t, codes.NotFound, code(err))
	_, err = cli.RecoverOwner(t.Context(), &authv1.RecoverOwnerRequest{TenantId: tid, Subject: "x\u202e@acme"})
	requireField(t, err, "subject")

	// Audited in the tenant's chain and in the platform chain.
	for chain, tenant := range map[string]string{"tenant": tid, "platform": ""} {
		rs, err := e.db.Q().ListAudit(t.Context(), tenant, 0, 500)
		require.NoError(t, err)
		n := 0
		for _, a := range rs {
			if a.Action == "tenant.recover_owner" {
				n++
				require.Equal(t, "svc:spiffe://rampart.local/svc/rampart-cli", a.Actor)
				require.NotContains(t, a.Result, rec.GetApiKey()[15:])
			}
		}
		require.Equal(t, 2, n, chain)
	}
	ok, err := e.db.Q().VerifyAuditChain(t.Context(), "")
	require.NoError(t, err)
	require.True(t, ok.OK)
}

// Neither rotating a budgeted key nor minting from it starts a fresh
// monthly budget: the principal names the budget counter to draw from.
func TestBudgetPoolSurvivesRotationAndMinting(t *testing.T) { forEachStore(t, budgetPool) }

func budgetPool(t *testing.T, e *env) {
	_, owner := e.tenant(t, "acme")
	kc := authv1.NewKeyServiceClient(e.edge)
	budgeted := e.ownKey(t, owner, &authv1.CreateKeyRequest{Name: "b", Scopes: []string{"chat:write", "keys:write"}, Limits: &authv1.Limits{MonthlyTokenBudget: 100}})
	free := e.ownKey(t, owner, &authv1.CreateKeyRequest{Name: "f", Scopes: []string{"chat:write"}, Limits: &authv1.Limits{MonthlyTokenBudget: 100}})
	budgetKey := func(key string) string {
		resp, err := e.verify(t.Context(), key)
		require.NoError(t, err)
		return resp.GetPrincipal().GetBudgetKeyId()
	}
	require.Equal(t, budgeted[3:15], budgetKey(budgeted))
	require.Equal(t, free[3:15], budgetKey(free), "minted by an owner key without a budget: its own")

	child := e.ownKey(t, budgeted, &authv1.CreateKeyRequest{Name: "c", Scopes: []string{"chat:write"}, Limits: &authv1.Limits{MonthlyTokenBudget: 50}})
	require.Equal(t, budgeted[3:15], budgetKey(child), "minted by a budgeted key")

	r, err := kc.RotateKey(e.as(t, budgeted), &authv1.RotateKeyRequest{KeyId: budgeted[3:15]})
	require.NoError(t, err)
	e.plaintexts = append(e.plaintexts, r.GetApiKey())
	require.Equal(t, budgeted[3:15], budgetKey(r.GetApiKey()), "rotated")
	r2, err := kc.RotateKey(e.as(t, r.GetApiKey()), &authv1.RotateKeyRequest{KeyId: r.GetKey().GetKeyId()})
	require.NoError(t, err)
	e.plaintexts = append(e.plaintexts, r2.GetApiKey())
	require.Equal(t, budgeted[3:15], budgetKey(r2.GetApiKey()), "rotated twice")
}

// TestGetTenantLimitsOnlyForInference: the principal-less GetTenantLimits
// (ADR 0106 §2) answers a tenant's stored limits to inference's identity
// and to no other, not even the edge with the platform admin's principal.
func TestGetTenantLimitsOnlyForInference(t *testing.T) {
	e := newEnv(t)
	tid, _ := e.tenant(t, "acme")
	_, err := authv1.NewTenantServiceClient(e.edge).UpdateTenantLimits(e.as(t, e.platformKey), &authv1.UpdateTenantLimitsRequest{
		TenantId: tid, Limits: &authv1.TenantLimits{TokensPerMinute: 700, MonthlyTokenBudget: 9000, AllowedModels: []string{"echo"}}})
	require.NoError(t, err)
	req := &authv1.GetTenantLimitsRequest{TenantId: tid}

	inference := authv1.NewAuthServiceClient(e.dial(t, "inference"))
	resp, err := inference.GetTenantLimits(t.Context(), req)
	require.NoError(t, err)
	require.Equal(t, int64(700), resp.GetLimits().GetTokensPerMinute())
	require.Equal(t, int64(9000), resp.GetLimits().GetMonthlyTokenBudget())
	require.Equal(t, []string{"echo"}, resp.GetLimits().GetAllowedModels())

	_, err = inference.GetTenantLimits(t.Context(), &authv1.GetTenantLimitsRequest{TenantId: "t_missing"})
	require.Equal(t, codes.NotFound, code(err))
	_, err = inference.GetTenantLimits(t.Context(), &authv1.GetTenantLimitsRequest{})
	require.Equal(t, codes.InvalidArgument, code(err))

	for name, ctx := range map[string]context.Context{"edge with the platform admin": e.as(t, e.platformKey), "edge": t.Context()} {
		_, err = authv1.NewAuthServiceClient(e.edge).GetTenantLimits(ctx, req)
		require.Equal(t, codes.PermissionDenied, code(err), name)
	}
	for _, conn := range []*grpc.ClientConn{e.cli, e.keyvault, e.dial(t, "slackadapter")} {
		_, err = authv1.NewAuthServiceClient(conn).GetTenantLimits(t.Context(), req)
		require.Equal(t, codes.PermissionDenied, code(err))
	}
}

// TestGetTenantLimitsRefusesATenantNotActive: auth does not answer a
// suspended or deleted tenant's limits as if it were active, so inference
// charges no background job of it (ADR 0115): FailedPrecondition with an
// ErrorInfo naming the state; resumed, the limits are answered again;
// purged, NotFound.
func TestGetTenantLimitsRefusesATenantNotActive(t *testing.T) {
	e := newEnv(t)
	tid, _ := e.tenant(t, "acme")
	inference := authv1.NewAuthServiceClient(e.dial(t, "inference"))
	tc := authv1.NewTenantServiceClient(e.edge)
	pctx := e.as(t, e.platformKey)
	req := &authv1.GetTenantLimitsRequest{TenantId: tid}
	refused := func(t *testing.T, reason string) {
		t.Helper()
		_, err := inference.GetTenantLimits(t.Context(), req)
		require.Equal(t, codes.FailedPrecondition, code(err))
		// the status's ErrorInfo of auth's domain names the state
		require.Equal(t, reason, grpcerr.TenantNotActive(err), "%v", err)
	}

	_, err := inference.GetTenantLimits(t.Context(), req)
	require.NoError(t, err, "active")
	_, err = tc.SuspendTenant(pctx, &authv1.SuspendTenantRequest{TenantId: tid})
	require.NoError(t, err)
	refused(t, grpcerr.ReasonTenantSuspended)
	_, err = tc.ResumeTenant(pctx, &authv1.ResumeTenantRequest{TenantId: tid})
	require.NoError(t, err)
	_, err = inference.GetTenantLimits(t.Context(), req)
	require.NoError(t, err, "resumed")
	_, err = tc.DeleteTenant(pctx, &authv1.DeleteTenantRequest{TenantId: tid})
	require.NoError(t, err)
	refused(t, grpcerr.ReasonTenantDeleted)
	e.clock.Advance(8 * 24 * time.Hour)
	_, err = e.svc.Sweep(t.Context())
	require.NoError(t, err)
	_, err = inference.GetTenantLimits(t.Context(), req)
	require.Equal(t, codes.NotFound, code(err), "purged")
}

// TestVerifyKeySaysItsTenantIsNotActive (ADR 0123 §2): a right key of a
// suspended or deleted tenant is refused as any invalid key
// (Unauthenticated "invalid api key", what the edge answers 401 on), with
// an ErrorInfo of auth's tenant domain naming the state, so the Slack
// adapter, which holds its tenants' adapter keys, can tell a workspace why
// it gets no answers. Whoever does not hold the key learns nothing: a
// wrong secret for the same key id, or a revoked key of the same tenant,
// gets the plain refusal. Before, the right key's refusal said nothing.
func TestVerifyKeySaysItsTenantIsNotActive(t *testing.T) {
	e := newEnv(t)
	tid, owner := e.tenant(t, "acme")
	revoked := e.member(t, owner, "bob@acme", authv1.Role_ROLE_MEMBER, "chat:write")
	_, err := authv1.NewKeyServiceClient(e.edge).RevokeKey(e.as(t, owner), &authv1.RevokeKeyRequest{KeyId: revoked[3:15]})
	require.NoError(t, err)
	wrong := forge(t, owner[3:15])
	tc := authv1.NewTenantServiceClient(e.edge)
	pctx := e.as(t, e.platformKey)
	refused := func(t *testing.T, key, reason string) {
		t.Helper()
		_, err := e.verify(t.Context(), key)
		require.Equal(t, codes.Unauthenticated, code(err))
		require.Equal(t, "invalid api key", status.Convert(err).Message())
		require.Equal(t, reason, grpcerr.TenantNotActive(err), "%v", err)
	}

	_, err = tc.SuspendTenant(pctx, &authv1.SuspendTenantRequest{TenantId: tid})
	require.NoError(t, err)
	refused(t, owner, grpcerr.ReasonTenantSuspended)
	refused(t, wrong, "")
	refused(t, revoked, "")
	_, err = tc.ResumeTenant(pctx, &authv1.ResumeTenantRequest{TenantId: tid})
	require.NoError(t, err)
	_, err = e.verify(t.Context(), owner)
	require.NoError(t, err, "resumed")
	_, err = tc.DeleteTenant(pctx, &authv1.DeleteTenantRequest{TenantId: tid})
	require.NoError(t, err)
	refused(t, owner, grpcerr.ReasonTenantDeleted)
	refused(t, wrong, "")
}
