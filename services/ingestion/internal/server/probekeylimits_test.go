package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	ingestionv1 "github.com/rampart-platform/rampart/gen/go/rampart/ingestion/v1"
	"github.com/rampart-platform/rampart/pkg/inferencetest"
	"github.com/rampart-platform/rampart/pkg/principal"
)

// TestCollectionProbeCarriesTheKeysLimits (ADR 0111 §4): creating a
// collection on an inference model, or switching one to it, embeds one
// probe text while the caller waits; like a search's query (ADR 0106) it
// carries the key's own limits from its verified principal, and a spent
// limit is the call's answer (ResourceExhausted with inference's refusal:
// the edge's 429 naming the limit and Retry-After), not a 503. Before, the
// probe carried only the tenant's limits and the key's were never charged.
func TestCollectionProbeCarriesTheKeysLimits(t *testing.T) {
	h := newHarness(t, opts{})
	c := h.client(t, "edge")
	narrow := &authv1.Principal{TenantId: "acme", Subject: "dev-acme", KeyId: "key-narrow", Scopes: []string{"ingest:read", "ingest:write"},
		AllowedModels: []string{fakeModel}, BudgetKeyId: "key-origin",
		TokensPools: []*authv1.RatePool{{KeyId: "key-minter", PerMinute: 500}},
		Limits:      &authv1.Limits{TokensPerMinute: 100, MonthlyTokenBudget: 1000, TenantTokensPerMinute: 5000}}
	tok, err := h.Signer.Sign(narrow, time.Time{})
	require.NoError(t, err)
	ctx := principal.AppendToOutgoing(context.Background(), tok)
	want := &inferencev1.KeyLimits{TokensPerMinute: 100, MonthlyTokenBudget: 1000, BudgetKeyId: "key-origin",
		TokensPools: []*inferencev1.TokensPool{{KeyId: "key-minter", TokensPerMinute: 500}}}
	lastProbe := func() fakeEmbedCall {
		calls := h.inference.embedCalls()
		require.NotEmpty(t, calls)
		return calls[len(calls)-1]
	}

	_, err = c.CreateCollection(ctx, &ingestionv1.CreateCollectionRequest{Name: "fleet", EmbeddingModel: fakeModel})
	require.NoError(t, err)
	probe := lastProbe()
	require.Equal(t, "key-narrow", probe.Key)
	require.True(t, proto.Equal(want, probe.KeyLimits), "create's probe: got %v", probe.KeyLimits)

	_, err = c.CreateCollection(ctx, &ingestionv1.CreateCollectionRequest{Name: "local"})
	require.NoError(t, err)
	n := len(h.inference.embedCalls())
	_, err = c.UpdateCollection(ctx, &ingestionv1.UpdateCollectionRequest{Collection: "local", EmbeddingModel: fakeModel})
	require.NoError(t, err)
	require.Greater(t, len(h.inference.embedCalls()), n, "the update probed the model")
	probe = h.inference.embedCalls()[n]
	require.True(t, proto.Equal(want, probe.KeyLimits), "update's probe: got %v", probe.KeyLimits)

	// Inference refuses the key's spent limit: create and update say so.
	refusal := inferencetest.APIError{Code: codes.ResourceExhausted, OpenAICode: "rate_limit_exceeded", Type: "tokens",
		Message:    "Rate limit reached for tokens per minute (TPM) on this API key: limit 100. Please try again in 1.5s.",
		RetryAfter: 1500 * time.Millisecond}
	h.inference.setRefuseQueries(refusal.Err())
	_, errCreate := c.CreateCollection(ctx, &ingestionv1.CreateCollectionRequest{Name: "spent", EmbeddingModel: fakeModel})
	_, err = c.CreateCollection(ctx, &ingestionv1.CreateCollectionRequest{Name: "local2"})
	require.NoError(t, err)
	_, errUpdate := c.UpdateCollection(ctx, &ingestionv1.UpdateCollectionRequest{Collection: "local2", EmbeddingModel: fakeModel})
	for name, err := range map[string]error{"create": errCreate, "update": errUpdate} {
		st := status.Convert(err)
		require.Equal(t, codes.ResourceExhausted, st.Code(), "%s: %v", name, err)
		require.Equal(t, refusal.Message, st.Message(), name)
		var reason string
		var retry time.Duration
		for _, d := range st.Details() {
			switch d := d.(type) {
			case *errdetails.ErrorInfo:
				reason = d.GetReason()
			case *errdetails.RetryInfo:
				retry = d.GetRetryDelay().AsDuration()
			}
		}
		require.Equal(t, "rate_limit_exceeded", reason, name)
		require.Equal(t, 1500*time.Millisecond, retry, name)
	}
	list, err := c.ListCollections(ctx, &ingestionv1.ListCollectionsRequest{})
	require.NoError(t, err)
	for _, col := range list.GetCollections() {
		require.NotEqual(t, "spent", col.GetName(), "a refused probe creates nothing")
		if col.GetName() == "local2" {
			require.NotEqual(t, fakeModel, col.GetEmbeddingModel(), "a refused probe switches nothing")
		}
	}
}
