package server_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	"github.com/rampart-platform/rampart/pkg/authtest"
	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/services/inference/internal/servertest"
)

// TestEmbedForTenantChargesAuthsLimits: on a replica that saw no call of
// the tenant, a job is charged against the limits auth stores (its
// GetTenantLimits, ADR 0106 §2), and what ingestion carries only narrows
// them: a compromised ingestion sending zeros (no limit) is refused once
// auth's small limit is spent. Before, the carried zeros were taken and
// every call passed. Auth unreachable makes an unseen tenant's job wait
// (Unavailable), never run unlimited; a tenant auth does not know runs no
// job.
func TestEmbedForTenantChargesAuthsLimits(t *testing.T) {
	long := "a fairly long sentence that uses up the whole small limit at once"
	unavailable := status.Error(codes.Unavailable, "auth down")
	for _, tc := range []struct {
		name  string
		auth  *authv1.TenantLimits // nil: unknown to auth
		fail  error                // auth's answer to GetTenantLimits
		sent  *inferencev1.TenantJobLimits
		first codes.Code // the first call
		then  codes.Code // eventually
	}{
		{"zeros sent, auth's tpm", &authv1.TenantLimits{TokensPerMinute: 5}, nil, &inferencev1.TenantJobLimits{}, codes.OK, codes.ResourceExhausted},
		{"zeros sent, auth's budget", &authv1.TenantLimits{MonthlyTokenBudget: 5}, nil, &inferencev1.TenantJobLimits{}, codes.OK, codes.ResourceExhausted},
		{"looser tpm sent, auth's tpm", &authv1.TenantLimits{TokensPerMinute: 5}, nil, &inferencev1.TenantJobLimits{TokensPerMinute: 1_000_000}, codes.OK, codes.ResourceExhausted},
		{"none sent, auth's budget", &authv1.TenantLimits{MonthlyTokenBudget: 5}, nil, nil, codes.OK, codes.ResourceExhausted},
		{"auth unlimited, stricter sent", &authv1.TenantLimits{}, nil, &inferencev1.TenantJobLimits{TokensPerMinute: 5}, codes.OK, codes.ResourceExhausted},
		{"auth unreachable", &authv1.TenantLimits{}, unavailable, &inferencev1.TenantJobLimits{}, codes.Unavailable, codes.Unavailable},
		{"unknown to auth", nil, nil, &inferencev1.TenantJobLimits{}, codes.FailedPrecondition, codes.FailedPrecondition},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := servertest.Start(t, servertest.Options{Models: []byte(models), Clients: []string{"ingestion"}, Auth: func(a *authtest.Server) {
				a.SetTenantLimits("ta", tc.auth)
				a.FailTenantLimits(tc.fail)
			}})
			ing := inferencev1.NewInferenceServiceClient(srv.Dial(t, "ingestion"))
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			req := &inferencev1.EmbedForTenantRequest{TenantId: "ta", Model: "rampart-hash-embed", Inputs: []string{long}, TenantLimits: tc.sent}
			_, err := ing.EmbedForTenant(ctx, req)
			require.Equal(t, tc.first, status.Code(err), "%v", err)
			require.Eventually(t, func() bool {
				_, err = ing.EmbedForTenant(ctx, req)
				return status.Code(err) == tc.then
			}, 10*time.Second, 50*time.Millisecond)
			require.Positive(t, srv.Auth.LimitsCalls.Load())
		})
	}
}

// TestEmbedForTenantFollowsAuthsLimits: auth's answer is cached per tenant
// (a burst of jobs asks it about once per TTL), and a limit lowered in auth
// reaches a seen tenant's jobs within the TTL, without a call of the
// tenant; auth unreachable then keeps the seen limits for a seen tenant.
func TestEmbedForTenantFollowsAuthsLimits(t *testing.T) {
	const ttl = 300 * time.Millisecond
	srv := servertest.Start(t, servertest.Options{Models: []byte(models), Clients: []string{"ingestion"}, AuthLimitsTTL: ttl,
		Auth: func(a *authtest.Server) { a.SetTenantLimits("tl", &authv1.TenantLimits{}) }})
	ing := inferencev1.NewInferenceServiceClient(srv.Dial(t, "ingestion"))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	edge := inferencev1.NewInferenceServiceClient(srv.Dial(t, "edge"))
	p := principalFor("tl", "k1", func(p *authv1.Principal) { p.Limits = &authv1.Limits{} })
	_, err := edge.Embeddings(srv.Outgoing(ctx, t, p), &inferencev1.EmbeddingsRequest{Body: []byte(`{"model":"rampart-hash-embed","input":"x"}`)})
	require.NoError(t, err)

	req := &inferencev1.EmbedForTenantRequest{TenantId: "tl", Model: "rampart-hash-embed",
		Inputs: []string{"a fairly long sentence that uses up the whole small limit at once"}, TenantLimits: &inferencev1.TenantJobLimits{}}
	start := time.Now()
	for range 10 {
		_, err = ing.EmbedForTenant(ctx, req)
		require.NoError(t, err)
	}
	// One call per TTL elapsed, not one per job.
	require.LessOrEqual(t, srv.Auth.LimitsCalls.Load(), int64(time.Since(start)/ttl)+1)

	srv.Auth.SetTenantLimits("tl", &authv1.TenantLimits{TokensPerMinute: 5})
	require.Eventually(t, func() bool {
		_, err = ing.EmbedForTenant(ctx, req)
		return status.Code(err) == codes.ResourceExhausted
	}, 10*time.Second, 50*time.Millisecond)

	// Auth down: the seen tenant's jobs run on the limits seen on its
	// principal (unlimited here), not refused.
	srv.Auth.FailTenantLimits(status.Error(codes.Unavailable, "auth down"))
	srv.Auth.SetTenantLimits("tl", &authv1.TenantLimits{})
	time.Sleep(ttl)
	require.Eventually(t, func() bool {
		_, err = ing.EmbedForTenant(ctx, req)
		return err == nil
	}, 10*time.Second, 50*time.Millisecond)
}

// TestEmbedForTenantHoldsJobsToTheModelCeiling (ADR 0111 §1): a job's
// model must be within the tenant's model ceiling as auth stores it
// (GetTenantLimits' allowed_models) and as seen on its principals, not
// only the registry's view: a compromised ingestion cannot embed with a
// model the platform or the tenant's owners took off the tenant's list.
// Before, inference read auth's answer for the token limits only and
// every case below but the allowed ones passed.
func TestEmbedForTenantHoldsJobsToTheModelCeiling(t *testing.T) {
	unavailable := status.Error(codes.Unavailable, "auth down")
	for _, tc := range []struct {
		name string
		auth []string // auth's stored allowed_models
		seen []string // nil: no call of the tenant seen; else its principal's tenant_allowed_models
		down bool     // auth unreachable after the call was seen
		want codes.Code
	}{
		{"auth's ceiling leaves the model out", []string{"echo"}, nil, false, codes.PermissionDenied},
		{"auth's ceiling names the model", []string{"echo", "rampart-hash-embed"}, nil, false, codes.OK},
		{"auth allows every model", nil, nil, false, codes.OK},
		{"seen ceiling narrows auth's", nil, []string{"echo"}, false, codes.PermissionDenied},
		{"seen ceiling does not widen auth's", []string{"echo"}, []string{"echo", "rampart-hash-embed"}, false, codes.PermissionDenied},
		{"auth unreachable, seen ceiling binds", nil, []string{"echo"}, true, codes.PermissionDenied},
		{"auth unreachable, seen ceiling names the model", nil, []string{"rampart-hash-embed"}, true, codes.OK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := servertest.Start(t, servertest.Options{Models: []byte(models), Clients: []string{"ingestion"}, Auth: func(a *authtest.Server) {
				a.SetTenantLimits("tm", &authv1.TenantLimits{AllowedModels: tc.auth})
			}})
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			if tc.seen != nil {
				edge := inferencev1.NewInferenceServiceClient(srv.Dial(t, "edge"))
				p := principalFor("tm", "k1", func(p *authv1.Principal) { p.TenantAllowedModels = tc.seen })
				_, err := edge.ChatCompletion(srv.Outgoing(ctx, t, p), &inferencev1.ChatCompletionRequest{Body: []byte(`{"model":"echo","messages":[{"role":"user","content":"hi"}]}`)})
				require.NoError(t, err)
			}
			if tc.down {
				srv.Auth.FailTenantLimits(unavailable)
			}
			ing := inferencev1.NewInferenceServiceClient(srv.Dial(t, "ingestion"))
			_, err := ing.EmbedForTenant(ctx, &inferencev1.EmbedForTenantRequest{TenantId: "tm", Model: "rampart-hash-embed",
				Inputs: []string{"a chunk"}, TenantLimits: &inferencev1.TenantJobLimits{}})
			require.Equal(t, tc.want, status.Code(err), "%v", err)
			if tc.want == codes.PermissionDenied {
				require.Contains(t, status.Convert(err).Message(), "not among the models this tenant may use")
			}
		})
	}
}

// TestEmbedForTenantWaitsWhileTheTenantIsSuspended (ADR 0115): a job of a
// tenant auth says is suspended (GetTenantLimits' FailedPrecondition with
// the TENANT_SUSPENDED ErrorInfo) is refused with Unavailable, so
// ingestion's job waits, also on a replica that saw the tenant's calls
// (before, auth's refusal counted as auth unreachable and the seen limits
// let the job embed); resumed, it runs again. Deleted is the same.
func TestEmbedForTenantWaitsWhileTheTenantIsSuspended(t *testing.T) {
	for _, reason := range []string{grpcerr.ReasonTenantSuspended, grpcerr.ReasonTenantDeleted} {
		t.Run(reason, func(t *testing.T) {
			srv := servertest.Start(t, servertest.Options{Models: []byte(models), Clients: []string{"ingestion"}, AuthLimitsTTL: time.Millisecond,
				Auth: func(a *authtest.Server) { a.SetTenantLimits("ts", &authv1.TenantLimits{}) }})
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			edge := inferencev1.NewInferenceServiceClient(srv.Dial(t, "edge"))
			p := principalFor("ts", "k1", func(p *authv1.Principal) { p.Limits = &authv1.Limits{} })
			_, err := edge.Embeddings(srv.Outgoing(ctx, t, p), &inferencev1.EmbeddingsRequest{Body: []byte(`{"model":"rampart-hash-embed","input":"x"}`)})
			require.NoError(t, err, "the tenant is seen here")

			ing := inferencev1.NewInferenceServiceClient(srv.Dial(t, "ingestion"))
			req := &inferencev1.EmbedForTenantRequest{TenantId: "ts", Model: "rampart-hash-embed", Inputs: []string{"a chunk"}, TenantLimits: &inferencev1.TenantJobLimits{}}
			_, err = ing.EmbedForTenant(ctx, req)
			require.NoError(t, err, "active")

			srv.Auth.FailTenantLimits(grpcerr.ToStatus(ctx, slog.New(slog.DiscardHandler), &grpcerr.TenantNotActiveError{Reason: reason}))
			require.Eventually(t, func() bool {
				_, err = ing.EmbedForTenant(ctx, req)
				return status.Code(err) == codes.Unavailable
			}, 10*time.Second, 20*time.Millisecond, "refused while the tenant is not active")
			require.Contains(t, status.Convert(err).Message(), "not active")

			srv.Auth.FailTenantLimits(nil)
			require.Eventually(t, func() bool {
				_, err = ing.EmbedForTenant(ctx, req)
				return err == nil
			}, 10*time.Second, 20*time.Millisecond, "runs again once resumed")
		})
	}
}
