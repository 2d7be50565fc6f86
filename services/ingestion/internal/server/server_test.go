package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	ingestionv1 "github.com/rampart-platform/rampart/gen/go/rampart/ingestion/v1"
	"github.com/rampart-platform/rampart/services/ingestion/internal/config"
)

const (
	docPayments = `# Payments runbook

The payment service retries failed card charges three times. Each retry waits with exponential backoff.
If the processor answers with a hard decline, no retry happens and the customer is emailed.`
	docKube = `<html><head><title>Cluster notes</title><script>var secret = 1;</script></head>
<body><h1>Scheduling</h1><p>Kubernetes schedules pods onto nodes by resource requests.</p>
<p>Taints and tolerations keep workloads off dedicated nodes.</p></body></html>`
	docHoliday = "The office is closed on public holidays. Staff get twenty-five days of annual leave."
)

func TestIngestAndSearch(t *testing.T) {
	h := newHarness(t, opts{})
	c := h.client(t, "edge")
	ctx := h.ctx(t, "tenant-a")

	cr, err := c.CreateCollection(ctx, &ingestionv1.CreateCollectionRequest{Name: "handbook", Description: "ops"})
	require.NoError(t, err)
	require.Equal(t, "handbook", cr.GetCollection().GetName())
	_, err = c.CreateCollection(ctx, &ingestionv1.CreateCollectionRequest{Name: "handbook"})
	requireCode(t, err, codes.AlreadyExists)

	pay := h.ingest(t, c, "tenant-a", "handbook", "payments.md", "text/markdown", docPayments)
	kube := h.ingest(t, c, "tenant-a", "handbook", "kube.html", "", docKube)
	h.ingest(t, c, "tenant-a", "handbook", "", "text/plain", docHoliday)

	job, err := c.GetJob(ctx, &ingestionv1.GetJobRequest{JobId: pay.GetJob().GetId()})
	require.NoError(t, err)
	require.Equal(t, ingestionv1.JobState_JOB_STATE_SUCCEEDED, job.GetJob().GetState())
	require.Positive(t, job.GetJob().GetChunksTotal())
	require.Equal(t, job.GetJob().GetChunksTotal(), job.GetJob().GetChunksDone())

	doc, err := c.GetDocument(ctx, &ingestionv1.GetDocumentRequest{DocumentId: kube.GetDocument().GetId()})
	require.NoError(t, err)
	require.Equal(t, ingestionv1.DocumentState_DOCUMENT_STATE_READY, doc.GetDocument().GetState())
	require.Equal(t, "text/html", doc.GetDocument().GetContentType())
	require.Equal(t, "kube.html", doc.GetDocument().GetSource())

	for _, tc := range []struct {
		query, wantSource, wantText string
	}{
		{"how many times are card charges retried", "payments.md", "retries failed card charges"},
		{"kubernetes pods scheduling", "kube.html", "Kubernetes schedules pods"},
		{"annual leave days", "upload", "twenty-five days"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			res, err := c.Search(ctx, &ingestionv1.SearchRequest{Collection: "handbook", Query: tc.query, TopK: 3})
			require.NoError(t, err)
			require.NotEmpty(t, res.GetPassages())
			top := res.GetPassages()[0]
			require.Equal(t, tc.wantSource, top.GetSource())
			require.Contains(t, top.GetText(), tc.wantText)
			require.NotEmpty(t, top.GetDocumentId())
			require.True(t, strings.HasPrefix(top.GetChunkId(), top.GetDocumentId()+":"))
			require.Positive(t, top.GetScore())
			for i := 1; i < len(res.GetPassages()); i++ {
				require.GreaterOrEqual(t, res.GetPassages()[i-1].GetScore(), res.GetPassages()[i].GetScore())
			}
		})
	}
	res, err := c.Search(ctx, &ingestionv1.SearchRequest{Collection: "handbook", Query: "kubernetes"})
	require.NoError(t, err)
	for _, p := range res.GetPassages() {
		require.NotContains(t, p.GetText(), "var secret", "script text is not extracted")
	}

	// Citation context: title, heading path, ingestion time; no URL for
	// uploads.
	for _, tc := range []struct{ query, title, heading string }{
		{"kubernetes pods scheduling", "Cluster notes", "Scheduling"},
		{"card charges retried", "Payments runbook", "Payments runbook"},
		{"annual leave", "", ""},
	} {
		res, err := c.Search(ctx, &ingestionv1.SearchRequest{Collection: "handbook", Query: tc.query, TopK: 1})
		require.NoError(t, err)
		top := res.GetPassages()[0]
		require.Equal(t, tc.title, top.GetTitle(), tc.query)
		require.Equal(t, tc.heading, top.GetHeading(), tc.query)
		require.Empty(t, top.GetUrl())
		require.WithinDuration(t, time.Now(), top.GetUpdatedAt().AsTime(), time.Minute)
	}

	// Modes: each ranking alone finds the page; an unknown mode is refused.
	for _, mode := range []ingestionv1.SearchMode{ingestionv1.SearchMode_SEARCH_MODE_LEXICAL, ingestionv1.SearchMode_SEARCH_MODE_VECTOR, ingestionv1.SearchMode_SEARCH_MODE_HYBRID} {
		res, err := c.Search(ctx, &ingestionv1.SearchRequest{Collection: "handbook", Query: "kubernetes pods", TopK: 1, Mode: mode})
		require.NoError(t, err, mode)
		require.Equal(t, "kube.html", res.GetPassages()[0].GetSource(), mode)
	}
	_, err = c.Search(ctx, &ingestionv1.SearchRequest{Collection: "handbook", Query: "x", Mode: ingestionv1.SearchMode(42)})
	requireCode(t, err, codes.InvalidArgument, "mode")

	docs, err := c.ListDocuments(ctx, &ingestionv1.ListDocumentsRequest{Collection: "handbook"})
	require.NoError(t, err)
	require.Len(t, docs.GetDocuments(), 3)
	cols, err := c.ListCollections(ctx, &ingestionv1.ListCollectionsRequest{})
	require.NoError(t, err)
	require.Len(t, cols.GetCollections(), 1)
	require.EqualValues(t, 3, cols.GetCollections()[0].GetDocumentCount())
	jobs, err := c.ListJobs(ctx, &ingestionv1.ListJobsRequest{Collection: "handbook"})
	require.NoError(t, err)
	require.Len(t, jobs.GetJobs(), 3)

	// delete a document: it leaves search results
	_, err = c.DeleteDocument(ctx, &ingestionv1.DeleteDocumentRequest{DocumentId: pay.GetDocument().GetId()})
	require.NoError(t, err)
	res, err = c.Search(ctx, &ingestionv1.SearchRequest{Collection: "handbook", Query: "card charges retry backoff", TopK: 10})
	require.NoError(t, err)
	for _, p := range res.GetPassages() {
		require.NotEqual(t, pay.GetDocument().GetId(), p.GetDocumentId())
	}
	_, err = c.GetDocument(ctx, &ingestionv1.GetDocumentRequest{DocumentId: pay.GetDocument().GetId()})
	requireCode(t, err, codes.NotFound)

	// delete the collection: everything goes
	_, err = c.DeleteCollection(ctx, &ingestionv1.DeleteCollectionRequest{Collection: "handbook"})
	require.NoError(t, err)
	_, err = c.Search(ctx, &ingestionv1.SearchRequest{Collection: "handbook", Query: "kubernetes"})
	requireCode(t, err, codes.NotFound)
	_, err = c.GetJob(ctx, &ingestionv1.GetJobRequest{JobId: kube.GetJob().GetId()})
	requireCode(t, err, codes.NotFound)
}

func TestDeduplicationByContentHash(t *testing.T) {
	h := newHarness(t, opts{})
	c := h.client(t, "edge")
	ctx := h.ctx(t, "tenant-a")
	for _, n := range []string{"one", "two"} {
		_, err := c.CreateCollection(ctx, &ingestionv1.CreateCollectionRequest{Name: n})
		require.NoError(t, err)
	}
	first := h.ingest(t, c, "tenant-a", "one", "a.txt", "text/plain", docHoliday)
	require.False(t, first.GetDeduplicated())
	again := h.ingest(t, c, "tenant-a", "one", "b.txt", "text/plain", docHoliday)
	require.True(t, again.GetDeduplicated())
	require.Equal(t, first.GetDocument().GetId(), again.GetDocument().GetId())
	require.Equal(t, first.GetJob().GetId(), again.GetJob().GetId())
	require.Equal(t, "a.txt", again.GetDocument().GetSource())
	other := h.ingest(t, c, "tenant-a", "two", "a.txt", "text/plain", docHoliday)
	require.False(t, other.GetDeduplicated(), "dedup is per collection")
	docs, err := c.ListDocuments(ctx, &ingestionv1.ListDocumentsRequest{Collection: "one"})
	require.NoError(t, err)
	require.Len(t, docs.GetDocuments(), 1)

	// another tenant with the same content gets its own document
	ctxB := h.ctx(t, "tenant-b")
	_, err = c.CreateCollection(ctxB, &ingestionv1.CreateCollectionRequest{Name: "one"})
	require.NoError(t, err)
	b := h.ingest(t, c, "tenant-b", "one", "a.txt", "text/plain", docHoliday)
	require.False(t, b.GetDeduplicated())
}

// TestTenantIsolation: every resource of tenant A is NotFound for tenant B,
// exactly like a resource that does not exist.
func TestTenantIsolation(t *testing.T) {
	h := newHarness(t, opts{})
	c := h.client(t, "edge")
	ctxA, ctxB := h.ctx(t, "tenant-a"), h.ctx(t, "tenant-b")
	_, err := c.CreateCollection(ctxA, &ingestionv1.CreateCollectionRequest{Name: "secret"})
	require.NoError(t, err)
	a := h.ingest(t, c, "tenant-a", "secret", "plans.txt", "text/plain", "The merger with Initech closes in March.")
	docID, jobID := a.GetDocument().GetId(), a.GetJob().GetId()

	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"GetDocument", func() error {
			_, err := c.GetDocument(ctxB, &ingestionv1.GetDocumentRequest{DocumentId: docID})
			return err
		}},
		{"DeleteDocument", func() error {
			_, err := c.DeleteDocument(ctxB, &ingestionv1.DeleteDocumentRequest{DocumentId: docID})
			return err
		}},
		{"GetJob", func() error { _, err := c.GetJob(ctxB, &ingestionv1.GetJobRequest{JobId: jobID}); return err }},
		{"ListDocuments", func() error {
			_, err := c.ListDocuments(ctxB, &ingestionv1.ListDocumentsRequest{Collection: "secret"})
			return err
		}},
		{"Search", func() error {
			_, err := c.Search(ctxB, &ingestionv1.SearchRequest{Collection: "secret", Query: "merger"})
			return err
		}},
		{"DeleteCollection", func() error {
			_, err := c.DeleteCollection(ctxB, &ingestionv1.DeleteCollectionRequest{Collection: "secret"})
			return err
		}},
		{"IngestDocument", func() error {
			_, err := c.IngestDocument(ctxB, &ingestionv1.IngestDocumentRequest{Collection: "secret", Input: &ingestionv1.IngestDocumentRequest_Content{Content: []byte("x")}})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { requireCode(t, tc.call(), codes.NotFound) })
	}
	cols, err := c.ListCollections(ctxB, &ingestionv1.ListCollectionsRequest{})
	require.NoError(t, err)
	require.Empty(t, cols.GetCollections())
	jobs, err := c.ListJobs(ctxB, &ingestionv1.ListJobsRequest{})
	require.NoError(t, err)
	require.Empty(t, jobs.GetJobs())

	// B's own collection of the same name does not see A's chunks.
	_, err = c.CreateCollection(ctxB, &ingestionv1.CreateCollectionRequest{Name: "secret"})
	require.NoError(t, err)
	h.ingest(t, c, "tenant-b", "secret", "b.txt", "text/plain", "Tenant B writes about gardening and tomatoes.")
	res, err := c.Search(ctxB, &ingestionv1.SearchRequest{Collection: "secret", Query: "merger Initech March", TopK: 10})
	require.NoError(t, err)
	for _, p := range res.GetPassages() {
		require.NotContains(t, p.GetText(), "Initech")
	}
	// and A still has its document
	_, err = c.GetDocument(ctxA, &ingestionv1.GetDocumentRequest{DocumentId: docID})
	require.NoError(t, err)
}

// TestSearchStaysInItsCollection: a search of one collection never returns
// a passage of the tenant's other collection, nor of another tenant's
// collection of the same name, holding the same words — in every mode,
// before and after a restart with the ANN threshold at one chunk (the graph
// is built in the background: exact search until it is ready).
// Passages are what grounded answers cite (ADR 0012): a passage of another
// collection would be a citation the caller did not ask for.
func TestSearchStaysInItsCollection(t *testing.T) {
	h := newHarness(t, opts{})
	c := h.client(t, "edge")
	ctxA, ctxB := h.ctx(t, "tenant-a"), h.ctx(t, "tenant-b")
	const text = "VPN certificates rotate every %s days; the client renews VPN certificates on its own."
	ingest := func(ctx context.Context, tenant, coll, days string) string {
		_, err := c.CreateCollection(ctx, &ingestionv1.CreateCollectionRequest{Name: coll})
		require.NoError(t, err)
		return h.ingest(t, c, tenant, coll, "vpn.md", "text/markdown", fmt.Sprintf(text, days)).GetDocument().GetId()
	}
	handbook := ingest(ctxA, "tenant-a", "handbook", "45")
	ingest(ctxA, "tenant-a", "drafts", "30")
	ingest(ctxB, "tenant-b", "handbook", "60")
	check := func(name string) {
		for _, mode := range []ingestionv1.SearchMode{ingestionv1.SearchMode_SEARCH_MODE_HYBRID, ingestionv1.SearchMode_SEARCH_MODE_LEXICAL, ingestionv1.SearchMode_SEARCH_MODE_VECTOR} {
			res, err := c.Search(ctxA, &ingestionv1.SearchRequest{Collection: "handbook", Query: "How often do VPN certificates rotate?", TopK: 50, Mode: mode})
			require.NoError(t, err, "%s %s", name, mode)
			require.NotEmpty(t, res.GetPassages(), "%s %s", name, mode)
			for _, p := range res.GetPassages() {
				require.Equal(t, handbook, p.GetDocumentId(), "%s %s: %q", name, mode, p.GetText())
				require.Contains(t, p.GetText(), "45 days", "%s %s", name, mode)
				require.True(t, strings.HasPrefix(p.GetChunkId(), handbook+":"), "%s %s: %s", name, mode, p.GetChunkId())
			}
		}
	}
	check("exact")
	h.cfg.ANNThreshold = 1
	t.Cleanup(func() { h.cfg.ANNThreshold = config.Default().ANNThreshold })
	h.restart(t, opts{})
	c = h.client(t, "edge")
	check("ann")
}

func TestInvalidArguments(t *testing.T) {
	h := newHarness(t, opts{})
	c := h.client(t, "edge")
	ctx := h.ctx(t, "tenant-a")
	_, err := c.CreateCollection(ctx, &ingestionv1.CreateCollectionRequest{Name: "docs"})
	require.NoError(t, err)
	content := func(b string) *ingestionv1.IngestDocumentRequest_Content {
		return &ingestionv1.IngestDocumentRequest_Content{Content: []byte(b)}
	}
	for _, tc := range []struct {
		name  string
		call  func() error
		field string
	}{
		{"collection name", func() error {
			_, err := c.CreateCollection(ctx, &ingestionv1.CreateCollectionRequest{Name: "Bad Name"})
			return err
		}, "name"},
		{"description", func() error {
			_, err := c.CreateCollection(ctx, &ingestionv1.CreateCollectionRequest{Name: "x", Description: strings.Repeat("d", 2000)})
			return err
		}, "description"},
		{"no content", func() error {
			_, err := c.IngestDocument(ctx, &ingestionv1.IngestDocumentRequest{Collection: "docs"})
			return err
		}, "content"},
		{"too large", func() error {
			_, err := c.IngestDocument(ctx, &ingestionv1.IngestDocumentRequest{Collection: "docs", Input: content(strings.Repeat("a", 10<<20+1))})
			return err
		}, "content"},
		{"content type", func() error {
			_, err := c.IngestDocument(ctx, &ingestionv1.IngestDocumentRequest{Collection: "docs", Input: content("x"), ContentType: "application/msword"})
			return err
		}, "content_type"},
		{"not utf8", func() error {
			_, err := c.IngestDocument(ctx, &ingestionv1.IngestDocumentRequest{Collection: "docs", Input: content("\xff\xfeabc"), ContentType: "text/plain"})
			return err
		}, "content"},
		{"token without url", func() error {
			_, err := c.IngestDocument(ctx, &ingestionv1.IngestDocumentRequest{Collection: "docs", Input: content("x"), AccessToken: "t"})
			return err
		}, "access_token"},
		{"bad url", func() error {
			_, err := c.IngestDocument(ctx, &ingestionv1.IngestDocumentRequest{Collection: "docs", Input: &ingestionv1.IngestDocumentRequest_Url{Url: "file:///etc/passwd"}})
			return err
		}, "url"},
		{"empty query", func() error {
			_, err := c.Search(ctx, &ingestionv1.SearchRequest{Collection: "docs", Query: "  "})
			return err
		}, "query"},
		{"top_k", func() error {
			_, err := c.Search(ctx, &ingestionv1.SearchRequest{Collection: "docs", Query: "q", TopK: 51})
			return err
		}, "top_k"},
		{"search collection", func() error {
			_, err := c.Search(ctx, &ingestionv1.SearchRequest{Collection: "../etc", Query: "q"})
			return err
		}, "collection"},
		{"job id", func() error { _, err := c.GetJob(ctx, &ingestionv1.GetJobRequest{}); return err }, "job_id"},
		{"page size", func() error {
			_, err := c.ListJobs(ctx, &ingestionv1.ListJobsRequest{PageSize: -1})
			return err
		}, "page_size"},
	} {
		t.Run(tc.name, func(t *testing.T) { requireCode(t, tc.call(), codes.InvalidArgument, tc.field) })
	}
	_, err = c.IngestDocument(ctx, &ingestionv1.IngestDocumentRequest{Collection: "missing", Input: content("x")})
	requireCode(t, err, codes.NotFound, "collection")
	docs, err := c.ListDocuments(ctx, &ingestionv1.ListDocumentsRequest{Collection: "docs"})
	require.NoError(t, err)
	require.Empty(t, docs.GetDocuments(), "nothing half-written")
}

func TestAuthz(t *testing.T) {
	h := newHarness(t, opts{})
	edge := h.client(t, "edge")
	_, err := edge.CreateCollection(h.ctx(t, "tenant-a"), &ingestionv1.CreateCollectionRequest{Name: "kb"})
	require.NoError(t, err)

	inf := h.client(t, "inference")
	_, err = inf.Search(h.ctx(t, "tenant-a"), &ingestionv1.SearchRequest{Collection: "kb", Query: "anything"})
	require.NoError(t, err, "inference may search for RAG")
	_, err = inf.IngestDocument(h.ctx(t, "tenant-a"), &ingestionv1.IngestDocumentRequest{Collection: "kb", Input: &ingestionv1.IngestDocumentRequest_Content{Content: []byte("x")}})
	requireCode(t, err, codes.PermissionDenied)
	_, err = h.client(t, "slackadapter").Search(h.ctx(t, "tenant-a"), &ingestionv1.SearchRequest{Collection: "kb", Query: "q"})
	requireCode(t, err, codes.PermissionDenied)
	_, err = edge.ListCollections(t.Context(), &ingestionv1.ListCollectionsRequest{})
	requireCode(t, err, codes.Unauthenticated)
}

func TestManyChunksProgress(t *testing.T) {
	h := newHarness(t, opts{})
	c := h.client(t, "edge")
	ctx := h.ctx(t, "tenant-a")
	_, err := c.CreateCollection(ctx, &ingestionv1.CreateCollectionRequest{Name: "big"})
	require.NoError(t, err)
	var b strings.Builder
	for i := range 3000 {
		fmt.Fprintf(&b, "Paragraph %d discusses subject number %d in some detail. ", i, i%97)
	}
	r := h.ingest(t, c, "tenant-a", "big", "big.txt", "text/plain", b.String())
	job, err := c.GetJob(ctx, &ingestionv1.GetJobRequest{JobId: r.GetJob().GetId()})
	require.NoError(t, err)
	require.Greater(t, job.GetJob().GetChunksTotal(), int32(64))
	require.Equal(t, job.GetJob().GetChunksTotal(), job.GetJob().GetChunksDone())
	res, err := c.Search(ctx, &ingestionv1.SearchRequest{Collection: "big", Query: "Paragraph 2718", TopK: 1})
	require.NoError(t, err)
	require.Contains(t, res.GetPassages()[0].GetText(), "Paragraph 2718 ")
}
