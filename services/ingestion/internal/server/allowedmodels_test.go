package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	ingestionv1 "github.com/rampart-platform/rampart/gen/go/rampart/ingestion/v1"
	"github.com/rampart-platform/rampart/pkg/principal"
)

// limitedCtx is tenant's principal whose key may use only models.
func (h *harness) limitedCtx(t *testing.T, tenant string, models ...string) context.Context {
	t.Helper()
	tok, err := h.Signer.Sign(&authv1.Principal{TenantId: tenant, Subject: "dev-" + tenant, KeyId: "key-limited-" + tenant,
		Scopes: []string{"ingest:read", "ingest:write"}, AllowedModels: models}, time.Time{})
	require.NoError(t, err)
	return principal.AppendToOutgoing(context.Background(), tok)
}

// TestEmbeddingModelWithinTheKeysAllowedModels (escalation review
// 2026-12-06): a collection's embedding model is used by background jobs
// through EmbedForTenant, which knows no key. A key whose allowed_models
// (auth narrows them by the tenant's limits) exclude a model could still
// create a collection with it, or switch one to it and queue a re-embed of
// every document, billed to the tenant. Now it is PermissionDenied naming
// embedding_model, before inference is called.
func TestEmbeddingModelWithinTheKeysAllowedModels(t *testing.T) {
	h := newHarness(t, opts{})
	c := h.client(t, "edge")
	_, err := c.CreateCollection(h.ctx(t, "acme"), &ingestionv1.CreateCollectionRequest{Name: "kb"})
	require.NoError(t, err)
	probes := len(h.inference.embedCalls())

	for _, tt := range []struct {
		name, plain string
		ctx         context.Context
	}{
		{"another model only", "plain-a", h.limitedCtx(t, "acme", "cheap-embed")},
		{"no model: key and tenant share none", "plain-b", h.limitedCtx(t, "acme", "-")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.CreateCollection(tt.ctx, &ingestionv1.CreateCollectionRequest{Name: "big", EmbeddingModel: fakeModel})
			requireCode(t, err, codes.PermissionDenied, "embedding_model")
			_, err = c.UpdateCollection(tt.ctx, &ingestionv1.UpdateCollectionRequest{Collection: "kb", EmbeddingModel: fakeModel})
			requireCode(t, err, codes.PermissionDenied, "embedding_model")
			// The local hash embedder is no inference model: always fine.
			_, err = c.CreateCollection(tt.ctx, &ingestionv1.CreateCollectionRequest{Name: tt.plain})
			require.NoError(t, err)
		})
	}
	require.Len(t, h.inference.embedCalls(), probes, "no probe ran for a refused model")
	jobs, err := c.ListJobs(h.ctx(t, "acme"), &ingestionv1.ListJobsRequest{})
	require.NoError(t, err)
	require.Empty(t, jobs.GetJobs(), "no re-embed job was queued")

	// A key that may use the model may pick it.
	ok := h.limitedCtx(t, "acme", "cheap-embed", fakeModel)
	_, err = c.CreateCollection(ok, &ingestionv1.CreateCollectionRequest{Name: "big", EmbeddingModel: fakeModel})
	require.NoError(t, err)
}
