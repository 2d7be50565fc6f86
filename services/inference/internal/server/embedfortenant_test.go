package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	"github.com/rampart-platform/rampart/pkg/hashembed"
	"github.com/rampart-platform/rampart/services/inference/internal/servertest"
)

// TestEmbedForTenant: ingestion embeds a background job's chunks for the
// job's tenant without a principal; nobody else may call the method, the
// tenant's registry decides the model, and usage lands on that tenant.
func TestEmbedForTenant(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{Models: []byte(models), Clients: []string{"ingestion", "keyvault"}})
	ing := inferencev1.NewInferenceServiceClient(srv.Dial(t, "ingestion"))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "x-request-id", "job-1")

	unlimited := &inferencev1.TenantJobLimits{}
	resp, err := ing.EmbedForTenant(ctx, &inferencev1.EmbedForTenantRequest{TenantId: "t1", KeyId: "k1", Model: "rampart-hash-embed",
		Inputs: []string{"certificates rotate every 45 days", "lunch is at noon"}, TenantLimits: unlimited})
	require.NoError(t, err)
	require.Equal(t, "rampart-hash-embed", resp.GetModel())
	require.Len(t, resp.GetVectors(), 2)
	// The same vectors the local model serves (pkg/hashembed, 256 dims).
	require.Equal(t, hashembed.Vector("lunch is at noon", 256), resp.GetVectors()[1].GetValues())
	require.Positive(t, resp.GetPromptTokens())

	// Usage is the named tenant's, attributed to the job's key.
	edge := inferencev1.NewInferenceServiceClient(srv.Dial(t, "edge"))
	p := &authv1.Principal{TenantId: "t1", KeyId: "k1", Subject: "u", Scopes: []string{"usage:read"}, Limits: &authv1.Limits{}}
	require.Eventually(t, func() bool {
		u, err := edge.GetUsage(srv.Outgoing(ctx, t, p), &inferencev1.GetUsageRequest{GroupBy: "key"})
		return err == nil && len(u.GetBuckets()) == 1 && u.GetBuckets()[0].GetGroup() == "k1" && u.GetTotal().GetPromptTokens() == resp.GetPromptTokens()
	}, 10*time.Second, 50*time.Millisecond)

	for _, tc := range []struct {
		name string
		req  *inferencev1.EmbedForTenantRequest
		code codes.Code
	}{
		{"no tenant", &inferencev1.EmbedForTenantRequest{Model: "rampart-hash-embed", Inputs: []string{"x"}}, codes.InvalidArgument},
		{"no model", &inferencev1.EmbedForTenantRequest{TenantId: "t1", Inputs: []string{"x"}}, codes.InvalidArgument},
		{"no input", &inferencev1.EmbedForTenantRequest{TenantId: "t1", Model: "rampart-hash-embed"}, codes.InvalidArgument},
		{"chat model", &inferencev1.EmbedForTenantRequest{TenantId: "t1", Model: "echo", Inputs: []string{"x"}, TenantLimits: unlimited}, codes.InvalidArgument},
		// secret-model exists but only t-vip may use it.
		{"model not allowed for tenant", &inferencev1.EmbedForTenantRequest{TenantId: "t1", Model: "secret-model", Inputs: []string{"x"}, TenantLimits: unlimited}, codes.NotFound},
		// Neither seen here nor sent: refused, not run unlimited (ADR 0095).
		{"tenant limits unknown", &inferencev1.EmbedForTenantRequest{TenantId: "t1", Model: "rampart-hash-embed", Inputs: []string{"x"}}, codes.Unavailable},
		{"too many inputs", &inferencev1.EmbedForTenantRequest{TenantId: "t1", Model: "rampart-hash-embed", Inputs: make([]string, 257)}, codes.InvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ing.EmbedForTenant(ctx, tc.req)
			require.Equal(t, tc.code, status.Code(err), err)
		})
	}

	// Only ingestion: the edge (even with a valid principal) and keyvault
	// are refused by the allow-list.
	req := &inferencev1.EmbedForTenantRequest{TenantId: "t1", Model: "rampart-hash-embed", Inputs: []string{"x"}, TenantLimits: unlimited}
	_, err = edge.EmbedForTenant(srv.Outgoing(ctx, t, p), req)
	require.Equal(t, codes.PermissionDenied, status.Code(err))
	_, err = inferencev1.NewInferenceServiceClient(srv.Dial(t, "keyvault")).EmbedForTenant(ctx, req)
	require.Equal(t, codes.PermissionDenied, status.Code(err))
}

// TestEmbedForTenantBudget: a tenant's monthly budget, as seen on its
// principals, also stops its background jobs.
func TestEmbedForTenantBudget(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{Models: []byte(models), Clients: []string{"ingestion"}})
	ing := inferencev1.NewInferenceServiceClient(srv.Dial(t, "ingestion"))
	edge := inferencev1.NewInferenceServiceClient(srv.Dial(t, "edge"))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	p := principalFor("tb", "k1", func(p *authv1.Principal) { p.Limits = &authv1.Limits{TenantMonthlyTokenBudget: 5} })
	_, err := edge.Embeddings(srv.Outgoing(ctx, t, p), &inferencev1.EmbeddingsRequest{Body: []byte(`{"model":"rampart-hash-embed","input":"a fairly long sentence that uses up the whole small budget"}`)})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		_, err = ing.EmbedForTenant(ctx, &inferencev1.EmbedForTenantRequest{TenantId: "tb", Model: "rampart-hash-embed", Inputs: []string{"more"}})
		return status.Code(err) == codes.ResourceExhausted
	}, 10*time.Second, 50*time.Millisecond)
}

// TestEmbedForTenantFreshReplica: a replica that has seen no call of the
// tenant charges its jobs against the limits ingestion sends (from the
// tenant's principals), and against the stricter when it has seen some
// too (ADR 0095): a low TPM or budget stops the job's next batch.
func TestEmbedForTenantFreshReplica(t *testing.T) {
	long := "a fairly long sentence that uses up the whole small limit at once"
	for _, tc := range []struct {
		name  string
		seen  *authv1.Limits // on an edge call before the job; nil: none
		sent  *inferencev1.TenantJobLimits
		limit codes.Code
	}{
		{"budget sent, none seen", nil, &inferencev1.TenantJobLimits{MonthlyTokenBudget: 5}, codes.ResourceExhausted},
		{"tpm sent, none seen", nil, &inferencev1.TenantJobLimits{TokensPerMinute: 5}, codes.ResourceExhausted},
		{"budget sent, unlimited seen", &authv1.Limits{}, &inferencev1.TenantJobLimits{MonthlyTokenBudget: 5}, codes.ResourceExhausted},
		{"budget seen, unlimited sent", &authv1.Limits{TenantMonthlyTokenBudget: 5}, &inferencev1.TenantJobLimits{}, codes.ResourceExhausted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := servertest.Start(t, servertest.Options{Models: []byte(models), Clients: []string{"ingestion"}})
			ing := inferencev1.NewInferenceServiceClient(srv.Dial(t, "ingestion"))
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			if tc.seen != nil {
				p := principalFor("tf", "k1", func(p *authv1.Principal) { p.Limits = tc.seen })
				edge := inferencev1.NewInferenceServiceClient(srv.Dial(t, "edge"))
				_, err := edge.Embeddings(srv.Outgoing(ctx, t, p), &inferencev1.EmbeddingsRequest{Body: []byte(`{"model":"rampart-hash-embed","input":"x"}`)})
				require.NoError(t, err)
			}
			req := &inferencev1.EmbedForTenantRequest{TenantId: "tf", Model: "rampart-hash-embed", Inputs: []string{long}, TenantLimits: tc.sent}
			_, err := ing.EmbedForTenant(ctx, req)
			require.NoError(t, err)
			require.Eventually(t, func() bool {
				_, err = ing.EmbedForTenant(ctx, req)
				return status.Code(err) == tc.limit
			}, 10*time.Second, 50*time.Millisecond)
		})
	}
}

// TestEmbedForTenantKeyLimits: a search's query, embedded for a key whose
// own limits ingestion carries (ADR 0106), is charged against the key's
// tokens per minute, pools and monthly budget as a chat call is, and
// refused with ResourceExhausted when one is spent; another key of the
// tenant and the tenant's background jobs go on. Before ADR 0106 the key's
// limits were not sent nor applied, and every call passed.
func TestEmbedForTenantKeyLimits(t *testing.T) {
	long := "a fairly long search query that uses up the whole small limit at once"
	for _, tc := range []struct {
		name string
		key  *inferencev1.KeyLimits
		want string // in the refusal
	}{
		{"key tpm", &inferencev1.KeyLimits{TokensPerMinute: 5}, "tokens per minute (TPM) on this API key"},
		{"key budget", &inferencev1.KeyLimits{MonthlyTokenBudget: 5}, "monthly token budget of this API key"},
		{"pool tpm", &inferencev1.KeyLimits{TokensPools: []*inferencev1.TokensPool{{KeyId: "k-minter", TokensPerMinute: 5}}}, "minted from the same limited key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := servertest.Start(t, servertest.Options{Models: []byte(models), Clients: []string{"ingestion"}})
			ing := inferencev1.NewInferenceServiceClient(srv.Dial(t, "ingestion"))
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			unlimited := &inferencev1.TenantJobLimits{}
			req := &inferencev1.EmbedForTenantRequest{TenantId: "tk", KeyId: "k1", Model: "rampart-hash-embed", Inputs: []string{long},
				TenantLimits: unlimited, KeyLimits: tc.key}
			_, err := ing.EmbedForTenant(ctx, req)
			require.NoError(t, err)
			require.Eventually(t, func() bool {
				_, err = ing.EmbedForTenant(ctx, req)
				return status.Code(err) == codes.ResourceExhausted
			}, 10*time.Second, 50*time.Millisecond)
			require.Contains(t, status.Convert(err).Message(), tc.want)

			// The key's limits, not the tenant's: a background job of the
			// tenant (no key limits) still runs, so does another key with
			// its own (unpooled) limits of the same size.
			_, err = ing.EmbedForTenant(ctx, &inferencev1.EmbedForTenantRequest{TenantId: "tk", KeyId: "k1", Model: "rampart-hash-embed",
				Inputs: []string{long}, TenantLimits: unlimited})
			require.NoError(t, err)
			if len(tc.key.GetTokensPools()) == 0 {
				other := &inferencev1.EmbedForTenantRequest{TenantId: "tk", KeyId: "k2", Model: "rampart-hash-embed", Inputs: []string{"x"},
					TenantLimits: unlimited, KeyLimits: tc.key}
				_, err = ing.EmbedForTenant(ctx, other)
				require.NoError(t, err)
			}
		})
	}

	srv := servertest.Start(t, servertest.Options{Models: []byte(models), Clients: []string{"ingestion"}})
	ing := inferencev1.NewInferenceServiceClient(srv.Dial(t, "ingestion"))
	_, err := ing.EmbedForTenant(t.Context(), &inferencev1.EmbedForTenantRequest{TenantId: "tk", Model: "rampart-hash-embed", Inputs: []string{"x"},
		TenantLimits: &inferencev1.TenantJobLimits{}, KeyLimits: &inferencev1.KeyLimits{}})
	require.Equal(t, codes.InvalidArgument, status.Code(err), "key limits without the key")
}
