package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
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

// tenantCtx is tenant's principal when the tenant's own model list (its
// limits, the platform's ceiling) is tenantModels; no key list of its own.
func (h *harness) tenantCtx(t *testing.T, tenant string, tenantModels ...string) context.Context {
	t.Helper()
	tok, err := h.Signer.Sign(&authv1.Principal{TenantId: tenant, Subject: "user-" + tenant, KeyId: "key-" + tenant,
		Scopes: []string{"ingest:read", "ingest:write"}, AllowedModels: tenantModels, TenantAllowedModels: tenantModels}, time.Time{})
	require.NoError(t, err)
	return principal.AppendToOutgoing(context.Background(), tok)
}

// TestJobsStayWithinTheTenantsModels (ADR 0065 §3): a collection keeps the
// model it was given; when the platform later takes that model off the
// tenant's list (ADR 0058: a ceiling), background jobs — a queued re-embed
// retried after the change, a new document — must not embed with it:
// EmbedForTenant knows no key and inference checks only its registry. They
// fail naming the model, and inference is not called.
func TestJobsStayWithinTheTenantsModels(t *testing.T) {
	h := newHarness(t, opts{})
	c := h.client(t, "edge")
	allowed := h.tenantCtx(t, "acme", fakeModel, "cheap-embed")
	_, err := c.CreateCollection(allowed, &ingestionv1.CreateCollectionRequest{Name: "kb"})
	require.NoError(t, err)
	// Several chunks: the re-embed below sends batches.
	h.ingest(t, c, "acme", "kb", "a.md", "text/markdown", carDoc+"\n\n"+strings.Repeat("The lunch menu changes weekly. ", 200))
	_, err = c.CreateCollection(allowed, &ingestionv1.CreateCollectionRequest{Name: "fleet", EmbeddingModel: fakeModel})
	require.NoError(t, err)

	// A re-embed queued while the model was allowed, whose batches fail
	// for now: it retries after a backoff.
	h.inference.setDownBatches(true)
	up, err := c.UpdateCollection(allowed, &ingestionv1.UpdateCollectionRequest{Collection: "kb", EmbeddingModel: fakeModel})
	require.NoError(t, err)
	require.Equal(t, ingestionv1.JobState_JOB_STATE_FAILED, h.wait(t, up.GetJob().GetId()))

	// The platform takes the model off the tenant's list; the tenant's
	// next call carries the new list. Then inference is back.
	removed := h.tenantCtx(t, "acme", "cheap-embed")
	_, err = c.ListCollections(removed, &ingestionv1.ListCollectionsRequest{})
	require.NoError(t, err)
	calls := len(h.inference.embedCalls())
	h.inference.setDownBatches(false)

	var job *ingestionv1.GetJobResponse
	for { // a retry may have run (still down) before the new list was seen
		state := h.wait(t, up.GetJob().GetId())
		job, err = c.GetJob(removed, &ingestionv1.GetJobRequest{JobId: up.GetJob().GetId()})
		require.NoError(t, err)
		if !job.GetJob().GetRetrying() {
			require.Equal(t, ingestionv1.JobState_JOB_STATE_FAILED, state, "the retry fails for good")
			break
		}
	}
	require.Contains(t, job.GetJob().GetError(), "embedding model `"+fakeModel+"` is not among the models this tenant may use")

	// A collection made with the model while it was allowed: a new
	// document's job fails the same way rather than embed.
	r, err := c.IngestDocument(removed, &ingestionv1.IngestDocumentRequest{Collection: "fleet", Source: "b.md", ContentType: "text/markdown",
		Input: &ingestionv1.IngestDocumentRequest_Content{Content: []byte("# Parking\n\nVisitors park in lot B.")}})
	require.NoError(t, err)
	require.Equal(t, ingestionv1.JobState_JOB_STATE_FAILED, h.wait(t, r.GetJob().GetId()))
	job, err = c.GetJob(removed, &ingestionv1.GetJobRequest{JobId: r.GetJob().GetId()})
	require.NoError(t, err)
	require.Contains(t, job.GetJob().GetError(), "embedding model `"+fakeModel+"` is not among the models this tenant may use")
	require.Len(t, h.inference.embedCalls(), calls, "no embedding with the removed model")
}

// TestJobsCarryTheTenantsLimits (ADR 0095): every EmbedForTenant call of a
// job and of the probe carries the tenant-wide limits of the tenant's
// latest principal seen here, so an inference replica that has seen no
// call of the tenant holds the job to them (and refuses without them).
func TestJobsCarryTheTenantsLimits(t *testing.T) {
	h := newHarness(t, opts{})
	c := h.client(t, "edge")
	tok, err := h.Signer.Sign(&authv1.Principal{TenantId: "acme", Subject: "user-acme", KeyId: "key-acme",
		Scopes: []string{"ingest:read", "ingest:write"},
		Limits: &authv1.Limits{TenantTokensPerMinute: 900, TenantMonthlyTokenBudget: 5000}}, time.Time{})
	require.NoError(t, err)
	ctx := principal.AppendToOutgoing(context.Background(), tok)
	_, err = c.CreateCollection(ctx, &ingestionv1.CreateCollectionRequest{Name: "fleet", EmbeddingModel: fakeModel})
	require.NoError(t, err)
	r, err := c.IngestDocument(ctx, &ingestionv1.IngestDocumentRequest{Collection: "fleet", Source: "fleet.md", ContentType: "text/markdown",
		Input: &ingestionv1.IngestDocumentRequest_Content{Content: []byte(carDoc)}})
	require.NoError(t, err)
	require.Equal(t, ingestionv1.JobState_JOB_STATE_SUCCEEDED, h.wait(t, r.GetJob().GetId()))

	calls := h.inference.embedCalls()
	require.GreaterOrEqual(t, len(calls), 2, "the probe and the job's batch")
	want := &inferencev1.TenantJobLimits{TokensPerMinute: 900, MonthlyTokenBudget: 5000}
	for _, call := range calls {
		require.True(t, proto.Equal(want, call.Limits), "%v", call.Limits)
	}
}
