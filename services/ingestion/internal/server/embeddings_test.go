package server_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	ingestionv1 "github.com/rampart-platform/rampart/gen/go/rampart/ingestion/v1"
)

const carDoc = "# Fleet\n\nEvery car in the company fleet is serviced each spring. Keys are kept at the front desk."

// TestCollectionEmbeddingModel: a collection records its model; chunks and
// queries are embedded through inference's EmbedForTenant for the
// collection's tenant (batched), and the vector ranking finds a synonym
// BM25 cannot.
func TestCollectionEmbeddingModel(t *testing.T) {
	h := newHarness(t, opts{})
	c := h.client(t, "edge")
	ctx := h.ctx(t, "acme")

	cr, err := c.CreateCollection(ctx, &ingestionv1.CreateCollectionRequest{Name: "fleet", EmbeddingModel: fakeModel})
	require.NoError(t, err)
	require.Equal(t, fakeModel, cr.GetCollection().GetEmbeddingModel())
	require.Equal(t, int32(fakeDims), cr.GetCollection().GetEmbeddingDimensions())
	def, err := c.CreateCollection(ctx, &ingestionv1.CreateCollectionRequest{Name: "plain"})
	require.NoError(t, err)
	require.Equal(t, "rampart-hash-embed", def.GetCollection().GetEmbeddingModel())

	// A long document: more chunks than one batch of 8.
	long := carDoc + "\n\n" + strings.Repeat("The lunch menu changes weekly and is posted near the kitchen door. ", 400)
	h.ingest(t, c, "acme", "fleet", "fleet.md", "text/markdown", long)
	calls := h.inference.embedCalls()
	require.Greater(t, len(calls), 2, "probe plus several batches")
	for _, call := range calls {
		require.Equal(t, "acme", call.Tenant)
		require.Equal(t, fakeModel, call.Model)
		require.LessOrEqual(t, call.Inputs, 8)
	}

	res, err := c.Search(ctx, &ingestionv1.SearchRequest{Collection: "fleet", Query: "automobile", TopK: 1, Mode: ingestionv1.SearchMode_SEARCH_MODE_VECTOR})
	require.NoError(t, err)
	require.Empty(t, res.GetWarning())
	require.Len(t, res.GetPassages(), 1)
	require.Contains(t, res.GetPassages()[0].GetText(), "car in the company fleet")
	last := h.inference.embedCalls()
	require.Equal(t, "key-acme", last[len(last)-1].Key, "a query is attributed to the caller's key")

	// Canary: the document's sentences are nowhere in the data dir in
	// plaintext with a model collection either (vectors from inference
	// are sealed like the text).
	h.shutdown()
	for _, needle := range []string{"car in the company fleet", "serviced each spring", "lunch menu changes weekly"} {
		require.Empty(t, scan(t, h.dataDir, needle), needle)
	}
	h.start(t, opts{})
	c = h.client(t, "edge")

	// The hash collection never calls inference.
	before := len(h.inference.embedCalls())
	h.ingest(t, c, "acme", "plain", "fleet.md", "text/markdown", carDoc)
	_, err = c.Search(ctx, &ingestionv1.SearchRequest{Collection: "plain", Query: "car"})
	require.NoError(t, err)
	require.Len(t, h.inference.embedCalls(), before)
}

func TestCollectionEmbeddingModelRejected(t *testing.T) {
	h := newHarness(t, opts{})
	c := h.client(t, "edge")
	// A model the tenant may not use, or that does not exist: the field
	// named, the model once, no gRPC code.
	tests := []struct {
		name, tenant, model string
	}{
		{"not the tenant's", "initech", fakeModel},
		{"unknown", "acme", "gpt-embed-huge"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.CreateCollection(h.ctx(t, tt.tenant), &ingestionv1.CreateCollectionRequest{Name: "x", EmbeddingModel: tt.model})
			requireCode(t, err, codes.InvalidArgument)
			require.Equal(t, "embedding_model: \""+tt.model+"\" is not an embedding model this tenant may use", status.Convert(err).Message())
		})
	}
	var err error
	// Inference down while creating: Unavailable, nothing created.
	h.inference.setDown(true)
	_, err = c.CreateCollection(h.ctx(t, "acme"), &ingestionv1.CreateCollectionRequest{Name: "y", EmbeddingModel: fakeModel})
	requireCode(t, err, codes.Unavailable)
	h.inference.setDown(false)
	list, err := c.ListCollections(h.ctx(t, "acme"), &ingestionv1.ListCollectionsRequest{})
	require.NoError(t, err)
	require.Empty(t, list.GetCollections())
}

// TestEmbeddingUpstreamDown: with the model unavailable a job fails with
// the reason, keeps its payload and runs again later (here, once the
// upstream is back), and search falls back to lexical with a warning.
func TestEmbeddingUpstreamDown(t *testing.T) {
	h := newHarness(t, opts{})
	c := h.client(t, "edge")
	ctx := h.ctx(t, "acme")
	_, err := c.CreateCollection(ctx, &ingestionv1.CreateCollectionRequest{Name: "fleet", EmbeddingModel: fakeModel})
	require.NoError(t, err)
	h.ingest(t, c, "acme", "fleet", "a.md", "text/markdown", "# Parking\n\nVisitors park in lot B behind the warehouse.")

	h.inference.setDown(true)
	r, err := c.IngestDocument(ctx, &ingestionv1.IngestDocumentRequest{Collection: "fleet", Source: "fleet.md", ContentType: "text/markdown",
		Input: &ingestionv1.IngestDocumentRequest_Content{Content: []byte(carDoc)}})
	require.NoError(t, err)
	require.Equal(t, ingestionv1.JobState_JOB_STATE_FAILED, h.wait(t, r.GetJob().GetId()))
	job, err := c.GetJob(ctx, &ingestionv1.GetJobRequest{JobId: r.GetJob().GetId()})
	require.NoError(t, err)
	require.Equal(t, ingestionv1.JobState_JOB_STATE_FAILED, job.GetJob().GetState())
	require.Contains(t, job.GetJob().GetError(), "embedding model unavailable")
	require.Contains(t, job.GetJob().GetError(), "retrying in")
	require.True(t, job.GetJob().GetRetrying(), "failed this run, not for good")
	require.NotContains(t, job.GetJob().GetError(), "company fleet", "no document text in the reason")

	// A watch of the retrying job does not end at the failed run: it
	// follows the job to its real end (below).
	watch, err := c.WatchJob(ctx, &ingestionv1.WatchJobRequest{JobId: r.GetJob().GetId()})
	require.NoError(t, err)
	first, err := watch.Recv()
	require.NoError(t, err)
	require.True(t, first.GetJob().GetRetrying())

	// Search: lexical results and a warning, not an error.
	res, err := c.Search(ctx, &ingestionv1.SearchRequest{Collection: "fleet", Query: "where do visitors park"})
	require.NoError(t, err)
	require.Contains(t, res.GetWarning(), "semantic-embed")
	require.NotEmpty(t, res.GetPassages())
	require.Contains(t, res.GetPassages()[0].GetText(), "lot B")

	// Back up: the retry (after its backoff) succeeds without a new upload.
	h.inference.setDown(false)
	state := h.wait(t, r.GetJob().GetId())
	for state == ingestionv1.JobState_JOB_STATE_FAILED { // a retry that ran while still down
		state = h.wait(t, r.GetJob().GetId())
	}
	require.Equal(t, ingestionv1.JobState_JOB_STATE_SUCCEEDED, state)
	job, err = c.GetJob(ctx, &ingestionv1.GetJobRequest{JobId: r.GetJob().GetId()})
	require.NoError(t, err)
	require.Empty(t, job.GetJob().GetError())
	require.False(t, job.GetJob().GetRetrying())
	var last *ingestionv1.Job
	for {
		m, err := watch.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		last = m.GetJob()
	}
	require.NotNil(t, last)
	require.Equal(t, ingestionv1.JobState_JOB_STATE_SUCCEEDED, last.GetState(), "the watch ended with the job, not at its failed run")
	res, err = c.Search(ctx, &ingestionv1.SearchRequest{Collection: "fleet", Query: "automobile", TopK: 1, Mode: ingestionv1.SearchMode_SEARCH_MODE_VECTOR})
	require.NoError(t, err)
	require.Empty(t, res.GetWarning())
	require.Contains(t, res.GetPassages()[0].GetText(), "car in the company fleet")

}

// TestReembedCollection: changing a collection's model runs a durable
// re-embed job with progress; the collection switches model when it
// commits, searches then embed queries with the new model, nothing is in
// plaintext on disk afterwards, and an unavailable model fails the job
// with the reason and retries it.
func TestReembedCollection(t *testing.T) {
	h := newHarness(t, opts{})
	c := h.client(t, "edge")
	ctx := h.ctx(t, "acme")
	_, err := c.CreateCollection(ctx, &ingestionv1.CreateCollectionRequest{Name: "kb"})
	require.NoError(t, err)
	h.ingest(t, c, "acme", "kb", "fleet.md", "text/markdown", carDoc)
	h.ingest(t, c, "acme", "kb", "lunch.md", "text/markdown", "# Lunch\n\nThe lunch menu changes weekly and is posted near the kitchen door.")
	require.Empty(t, h.inference.embedCalls(), "hash collections do not call inference")

	// Bad input: unknown model for the tenant, foreign collection, no model.
	_, err = c.UpdateCollection(ctx, &ingestionv1.UpdateCollectionRequest{Collection: "kb", EmbeddingModel: "gpt-embed-huge"})
	requireCode(t, err, codes.InvalidArgument, "embedding_model")
	_, err = c.UpdateCollection(h.ctx(t, "globex"), &ingestionv1.UpdateCollectionRequest{Collection: "kb", EmbeddingModel: fakeModel})
	requireCode(t, err, codes.NotFound)
	_, err = c.UpdateCollection(ctx, &ingestionv1.UpdateCollectionRequest{Collection: "kb"})
	requireCode(t, err, codes.InvalidArgument, "embedding_model")
	same, err := c.UpdateCollection(ctx, &ingestionv1.UpdateCollectionRequest{Collection: "kb", EmbeddingModel: "rampart-hash-embed"})
	require.NoError(t, err)
	require.Nil(t, same.GetJob(), "unchanged model: no job")

	up, err := c.UpdateCollection(ctx, &ingestionv1.UpdateCollectionRequest{Collection: "kb", EmbeddingModel: fakeModel})
	require.NoError(t, err)
	require.NotEmpty(t, up.GetJob().GetId())
	require.Equal(t, "kb", up.GetJob().GetCollection())
	require.Equal(t, ingestionv1.JobState_JOB_STATE_SUCCEEDED, h.wait(t, up.GetJob().GetId()))
	job, err := c.GetJob(ctx, &ingestionv1.GetJobRequest{JobId: up.GetJob().GetId()})
	require.NoError(t, err)
	require.Positive(t, job.GetJob().GetChunksTotal())
	require.Equal(t, job.GetJob().GetChunksTotal(), job.GetJob().GetChunksDone())
	list, err := c.ListCollections(ctx, &ingestionv1.ListCollectionsRequest{})
	require.NoError(t, err)
	require.Equal(t, fakeModel, list.GetCollections()[0].GetEmbeddingModel())
	require.Equal(t, int32(fakeDims), list.GetCollections()[0].GetEmbeddingDimensions())

	res, err := c.Search(ctx, &ingestionv1.SearchRequest{Collection: "kb", Query: "automobile", TopK: 1, Mode: ingestionv1.SearchMode_SEARCH_MODE_VECTOR})
	require.NoError(t, err)
	require.Empty(t, res.GetWarning())
	require.Contains(t, res.GetPassages()[0].GetText(), "car in the company fleet")

	// Canary scan after re-embedding.
	h.shutdown()
	for _, needle := range []string{"car in the company fleet", "lunch menu changes weekly"} {
		require.Empty(t, scan(t, h.dataDir, needle), needle)
	}
	h.start(t, opts{})
	c = h.client(t, "edge")

	// Re-embedding back to hashing while the model's upstream is down
	// needs no upstream; re-embedding to the model while it is down fails
	// with the reason, keeps the hash model, and succeeds on retry.
	back, err := c.UpdateCollection(ctx, &ingestionv1.UpdateCollectionRequest{Collection: "kb", EmbeddingModel: "rampart-hash-embed"})
	require.NoError(t, err)
	require.Equal(t, ingestionv1.JobState_JOB_STATE_SUCCEEDED, h.wait(t, back.GetJob().GetId()))
	h.inference.setDownBatches(true) // the probe passes, the job's batches do not
	again, err := c.UpdateCollection(ctx, &ingestionv1.UpdateCollectionRequest{Collection: "kb", EmbeddingModel: fakeModel})
	require.NoError(t, err)
	state := h.wait(t, again.GetJob().GetId())
	require.Equal(t, ingestionv1.JobState_JOB_STATE_FAILED, state)
	job, err = c.GetJob(ctx, &ingestionv1.GetJobRequest{JobId: again.GetJob().GetId()})
	require.NoError(t, err)
	require.Contains(t, job.GetJob().GetError(), "embedding model unavailable")
	list, err = c.ListCollections(ctx, &ingestionv1.ListCollectionsRequest{})
	require.NoError(t, err)
	require.Equal(t, "rampart-hash-embed", list.GetCollections()[0].GetEmbeddingModel(), "the old model stays until the job commits")
	// A second re-embed while one is unfinished is refused.
	_, err = c.UpdateCollection(ctx, &ingestionv1.UpdateCollectionRequest{Collection: "kb", EmbeddingModel: fakeModel})
	requireCode(t, err, codes.FailedPrecondition)
	h.inference.setDownBatches(false)
	for state == ingestionv1.JobState_JOB_STATE_FAILED {
		state = h.wait(t, again.GetJob().GetId())
	}
	require.Equal(t, ingestionv1.JobState_JOB_STATE_SUCCEEDED, state)
}

// TestEmbeddingRefusalKeepsNoUpstreamText (ADR 0065 §2): an upstream that
// quotes the input it refused put the document's text into the job's
// error, kept in clear in the database (outliving the tenant's
// crypto-shred) and shown in GetJob. The job's error now names the model
// and the code only.
func TestEmbeddingRefusalKeepsNoUpstreamText(t *testing.T) {
	const canary = "CANARY-refused-chunk-5d2e"
	h := newHarness(t, opts{})
	c := h.client(t, "edge")
	ctx := h.ctx(t, "acme")
	_, err := c.CreateCollection(ctx, &ingestionv1.CreateCollectionRequest{Name: "fleet", EmbeddingModel: fakeModel})
	require.NoError(t, err)
	h.inference.setQuoteRefusal(true)
	r, err := c.IngestDocument(ctx, &ingestionv1.IngestDocumentRequest{Collection: "fleet", Source: "fleet.md", ContentType: "text/markdown",
		Input: &ingestionv1.IngestDocumentRequest_Content{Content: []byte(carDoc + "\n\n" + canary + " " + strings.Repeat("More words about the fleet. ", 200))}})
	require.NoError(t, err)
	require.Equal(t, ingestionv1.JobState_JOB_STATE_FAILED, h.wait(t, r.GetJob().GetId()))
	job, err := c.GetJob(ctx, &ingestionv1.GetJobRequest{JobId: r.GetJob().GetId()})
	require.NoError(t, err)
	require.False(t, job.GetJob().GetRetrying(), "a refusal is final")
	require.Equal(t, "embedding model rejected the request: `"+fakeModel+"` (InvalidArgument)", job.GetJob().GetError())

	h.shutdown()
	for _, needle := range []string{canary, "company fleet", "content policy"} {
		require.Empty(t, scan(t, h.dataDir, needle), needle)
	}
}
