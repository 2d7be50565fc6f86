package server_test

import (
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	_ "modernc.org/sqlite"

	ingestionv1 "github.com/rampart-platform/rampart/gen/go/rampart/ingestion/v1"
)

// TestRecrawlReplacesChangedPages: a crawled page's identity is its
// canonical URL in the collection. Crawling again after a page changed
// replaces its document (the old text is no longer found, the document
// count stays, the citation keeps the URL); an unchanged page is skipped
// by its content hash and keeps its document (not re-embedded).
func TestRecrawlReplacesChangedPages(t *testing.T) {
	var mu sync.Mutex
	news := "The cafeteria serves porridge on Mondays."
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		text := news
		mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		switch r.URL.Path {
		case "/robots.txt":
			_, _ = io.WriteString(w, "User-agent: *\nAllow: /\n")
		case "/":
			_, _ = io.WriteString(w, `<html><head><title>Home</title></head><body><p>Staff handbook.</p><a href="/news">news</a> <a href="/policy">policy</a></body></html>`)
		case "/news":
			_, _ = fmt.Fprintf(w, `<html><head><title>News</title></head><body><p>%s</p></body></html>`, text)
		case "/policy":
			_, _ = io.WriteString(w, `<html><head><title>Policy</title></head><body><p>Badges must be worn in the laboratory.</p></body></html>`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	h := newHarness(t, opts{allowPrivate: true})
	c := h.client(t, "edge")
	ctx := h.ctx(t, "tenant-a")
	_, err := c.CreateCollection(ctx, &ingestionv1.CreateCollectionRequest{Name: "site"})
	require.NoError(t, err)

	crawl := func() *ingestionv1.Job {
		t.Helper()
		res, err := c.CrawlDocuments(ctx, &ingestionv1.CrawlDocumentsRequest{Collection: "site", Url: srv.URL + "/", MaxDepth: 1})
		require.NoError(t, err)
		seen := watch(t, h, c, "tenant-a", res.GetJob().GetId())
		last := seen[len(seen)-1]
		require.Equal(t, ingestionv1.JobState_JOB_STATE_SUCCEEDED, last.GetState(), "detail: %s, error: %s", last.GetDetail(), last.GetError())
		return last
	}
	docs := func() map[string]string { // source → document id
		t.Helper()
		res, err := c.ListDocuments(ctx, &ingestionv1.ListDocumentsRequest{Collection: "site"})
		require.NoError(t, err)
		out := map[string]string{}
		for _, d := range res.GetDocuments() {
			require.Equal(t, ingestionv1.DocumentState_DOCUMENT_STATE_READY, d.GetState())
			require.NotContains(t, out, d.GetSource(), "one document per page")
			out[d.GetSource()] = d.GetId()
		}
		return out
	}
	search := func(q string) []*ingestionv1.Passage {
		t.Helper()
		res, err := c.Search(ctx, &ingestionv1.SearchRequest{Collection: "site", Query: q, TopK: 10})
		require.NoError(t, err)
		return res.GetPassages()
	}

	crawl()
	first := docs()
	require.Len(t, first, 3)
	ps := search("porridge cafeteria")
	require.NotEmpty(t, ps)
	require.Contains(t, ps[0].GetText(), "porridge")

	mu.Lock()
	news = "The cafeteria now serves pancakes on Fridays."
	mu.Unlock()
	last := crawl()
	require.Contains(t, last.GetDetail(), "2 unchanged (already in the collection)", "/ and /policy are skipped by content")

	second := docs()
	require.Len(t, second, 3, "the changed page replaced its old version")
	require.Equal(t, first[srv.URL+"/"], second[srv.URL+"/"], "unchanged pages keep their document")
	require.Equal(t, first[srv.URL+"/policy"], second[srv.URL+"/policy"])
	require.NotEqual(t, first[srv.URL+"/news"], second[srv.URL+"/news"], "the changed page is a new version")

	for _, p := range search("porridge cafeteria Mondays") {
		require.NotContains(t, p.GetText(), "porridge", "the old text is gone from the index and the store")
		require.NotEqual(t, first[srv.URL+"/news"], p.GetDocumentId())
	}
	ps = search("pancakes Fridays")
	require.NotEmpty(t, ps)
	require.Contains(t, ps[0].GetText(), "pancakes")
	require.Equal(t, srv.URL+"/news", ps[0].GetUrl(), "the citation keeps the page's URL")
	require.Equal(t, srv.URL+"/news", ps[0].GetSource())
	require.Equal(t, "News", ps[0].GetTitle())
	_, err = c.GetDocument(ctx, &ingestionv1.GetDocumentRequest{DocumentId: first[srv.URL+"/news"]})
	requireCode(t, err, codes.NotFound)
}

// TestIngestSameSourceReplaces: uploads named alike are versions of one
// document; unnamed uploads are only deduplicated by content.
func TestIngestSameSourceReplaces(t *testing.T) {
	h := newHarness(t, opts{})
	c := h.client(t, "edge")
	ctx := h.ctx(t, "tenant-a")
	_, err := c.CreateCollection(ctx, &ingestionv1.CreateCollectionRequest{Name: "kb"})
	require.NoError(t, err)
	ingest := func(source, text string) *ingestionv1.IngestDocumentResponse {
		t.Helper()
		res, err := c.IngestDocument(ctx, &ingestionv1.IngestDocumentRequest{Collection: "kb", Input: &ingestionv1.IngestDocumentRequest_Content{Content: []byte(text)}, Source: source, ContentType: "text/markdown"})
		require.NoError(t, err)
		if !res.GetDeduplicated() {
			seen := watch(t, h, c, "tenant-a", res.GetJob().GetId())
			require.Equal(t, ingestionv1.JobState_JOB_STATE_SUCCEEDED, seen[len(seen)-1].GetState())
		}
		return res
	}
	count := func() int {
		t.Helper()
		res, err := c.ListDocuments(ctx, &ingestionv1.ListDocumentsRequest{Collection: "kb"})
		require.NoError(t, err)
		return len(res.GetDocuments())
	}
	v1 := ingest("vpn.md", "# VPN\n\nCertificates rotate every 45 days.")
	v2 := ingest("vpn.md", "# VPN\n\nCertificates rotate every 30 days.")
	require.NotEqual(t, v1.GetDocument().GetId(), v2.GetDocument().GetId())
	require.Equal(t, 1, count())
	res, err := c.Search(ctx, &ingestionv1.SearchRequest{Collection: "kb", Query: "how often do certificates rotate", TopK: 5})
	require.NoError(t, err)
	require.Len(t, res.GetPassages(), 1)
	require.Contains(t, res.GetPassages()[0].GetText(), "30 days")
	require.Equal(t, "vpn.md", res.GetPassages()[0].GetSource())

	again := ingest("vpn.md", "# VPN\n\nCertificates rotate every 30 days.")
	require.True(t, again.GetDeduplicated(), "unchanged content is not processed again")
	require.Equal(t, v2.GetDocument().GetId(), again.GetDocument().GetId())

	ingest("", "Unnamed note one.")
	ingest("", "Unnamed note two.")
	ingest("other.md", "# Other\n\nA different source.")
	require.Equal(t, 4, count(), "unnamed uploads and other sources are separate documents")
}

// TestLegacyDocumentsGetTheirIdentity: documents stored before source
// identities were recorded (source_mac NULL) are keyed on the next ingest
// into their collection, so a new version of such a source replaces them.
func TestLegacyDocumentsGetTheirIdentity(t *testing.T) {
	h := newHarness(t, opts{})
	c := h.client(t, "edge")
	ctx := h.ctx(t, "tenant-a")
	_, err := c.CreateCollection(ctx, &ingestionv1.CreateCollectionRequest{Name: "kb"})
	require.NoError(t, err)
	ingest := func(source, text string) {
		t.Helper()
		res, err := c.IngestDocument(h.ctx(t, "tenant-a"), &ingestionv1.IngestDocumentRequest{Collection: "kb", Input: &ingestionv1.IngestDocumentRequest_Content{Content: []byte(text)}, Source: source})
		require.NoError(t, err)
		seen := watch(t, h, c, "tenant-a", res.GetJob().GetId())
		require.Equal(t, ingestionv1.JobState_JOB_STATE_SUCCEEDED, seen[len(seen)-1].GetState())
	}
	ingest("vpn.md", "Certificates rotate every 45 days.")
	ingest("", "An unnamed note.")
	h.shutdown()
	db, err := sql.Open("sqlite", filepath.Join(h.dataDir, "ingestion.db"))
	require.NoError(t, err)
	_, err = db.ExecContext(t.Context(), `UPDATE documents SET source_mac = NULL`) // as before migration 00009
	require.NoError(t, err)
	require.NoError(t, db.Close())
	h.start(t, opts{})
	c = h.client(t, "edge")

	ingest("vpn.md", "Certificates rotate every 30 days.")
	res, err := c.ListDocuments(h.ctx(t, "tenant-a"), &ingestionv1.ListDocumentsRequest{Collection: "kb"})
	require.NoError(t, err)
	var sources []string
	for _, d := range res.GetDocuments() {
		sources = append(sources, d.GetSource())
	}
	require.ElementsMatch(t, []string{"vpn.md", "upload"}, sources, "the old vpn.md was replaced; the unnamed note stays")
}
