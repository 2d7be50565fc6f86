package server_test

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	ingestionv1 "github.com/rampart-platform/rampart/gen/go/rampart/ingestion/v1"
)

// scrape reads the instance's admin /metrics.
func (h *harness) scrape(t *testing.T) string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+h.admin+"/metrics", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

// value is the sample of one series in a scrape (-1: absent).
func value(t *testing.T, body, series string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(body)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(m[1], 64)
	require.NoError(t, err)
	return v
}

// TestMetricsOnTheAdminPort: ingestion's admin port serves its jobs by kind
// and outcome, the chunks it indexed, extraction failures by content type
// and the re-chunk backlog (ADR 0133), and no label or value names a
// tenant, collection, source, document, job or a document's content.
func TestMetricsOnTheAdminPort(t *testing.T) {
	h := newHarness(t, opts{})
	const tenant, coll = "tenant-canary-7f3", "canary-coll"
	c := h.client(t, "edge")
	ctx := h.ctx(t, tenant)
	_, err := c.CreateCollection(ctx, &ingestionv1.CreateCollectionRequest{Name: coll})
	require.NoError(t, err)
	before := h.scrape(t)
	for _, s := range []string{
		`rampart_ingestion_jobs_total{kind="ingest",outcome="succeeded"}`,
		`rampart_ingestion_jobs_total{kind="rechunk",outcome="failed"}`,
		`rampart_ingestion_extraction_failures_total{content_type="application/pdf"}`,
		`rampart_ingestion_chunks_indexed_total`,
	} {
		require.Zero(t, value(t, before, s), "%s: created up front, at 0", s)
	}

	ok := h.ingest(t, c, tenant, coll, "canary-source-9d2.md", "text/markdown", "# Canary\n\nThe canary-content-41c sentence is secret.")
	bad, err := c.IngestDocument(ctx, &ingestionv1.IngestDocumentRequest{
		Collection: coll, Input: &ingestionv1.IngestDocumentRequest_Content{Content: []byte("%PDF-1.4 canary-pdf-body-5e0 not a pdf")},
		Source: "canary-broken-b61.pdf", ContentType: "application/pdf",
	})
	require.NoError(t, err)
	require.Equal(t, ingestionv1.JobState_JOB_STATE_FAILED, h.wait(t, bad.GetJob().GetId()))

	got, err := c.GetDocument(ctx, &ingestionv1.GetDocumentRequest{DocumentId: ok.GetDocument().GetId()})
	require.NoError(t, err)
	after := h.scrape(t)
	require.InDelta(t, 1, value(t, after, `rampart_ingestion_jobs_total{kind="ingest",outcome="succeeded"}`), 0)
	require.InDelta(t, 1, value(t, after, `rampart_ingestion_jobs_total{kind="ingest",outcome="failed"}`), 0)
	require.InDelta(t, 1, value(t, after, `rampart_ingestion_extraction_failures_total{content_type="application/pdf"}`), 0)
	require.Zero(t, value(t, after, `rampart_ingestion_extraction_failures_total{content_type="text/markdown"}`))
	require.InDelta(t, float64(got.GetDocument().GetChunkCount()), value(t, after, `rampart_ingestion_chunks_indexed_total`), 0)
	require.Positive(t, value(t, after, `rampart_ingestion_chunks_indexed_total`))
	require.GreaterOrEqual(t, value(t, after, `rampart_ingestion_rechunk_backlog_documents{state="pending"}`), 0.0)
	for _, secret := range []string{tenant, coll, "canary-source-9d2", "canary-content-41c", "canary-pdf-body-5e0", "canary-broken-b61",
		ok.GetDocument().GetId(), ok.GetJob().GetId(), bad.GetDocument().GetId(), bad.GetJob().GetId()} {
		require.NotContains(t, after, secret)
	}
}
