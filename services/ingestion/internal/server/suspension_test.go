package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ingestionv1 "github.com/rampart-platform/rampart/gen/go/rampart/ingestion/v1"
	"github.com/rampart-platform/rampart/services/ingestion/internal/store"
)

// TestSuspensionStopsARunningJob (ADR 0123 §1): a document job that is
// embedding when its tenant is suspended stops at once instead of running
// to its end, is queued again without spending an attempt, and commits
// nothing: the source keeps its previous version, searchable as before.
// It waits like the tenant's queued jobs (the data key is dropped), and
// the tenant's first call after its resumption lets it run to the new
// version. Before, the job ran on to its commit.
func TestSuspensionStopsARunningJob(t *testing.T) {
	h := newHarness(t, opts{})
	c := h.client(t, "edge")
	_, err := c.CreateCollection(h.ctx(t, "acme"), &ingestionv1.CreateCollectionRequest{Name: "kb", EmbeddingModel: fakeModel})
	require.NoError(t, err)
	version := func(n string) string {
		return strings.Repeat("The VPN certificate rotation policy is version "+n+" of the handbook. ", 120)
	}
	first := h.ingest(t, c, "acme", "kb", "vpn.md", "text/plain", version("alpha"))
	before, err := h.app.Store.GetDocument(t.Context(), "acme", first.GetDocument().GetId())
	require.NoError(t, err)
	require.Positive(t, before.Chunks)

	entered, release := h.inference.holdBatches()
	t.Cleanup(release)
	r, err := c.IngestDocument(h.ctx(t, "acme"), &ingestionv1.IngestDocumentRequest{Collection: "kb",
		Input: &ingestionv1.IngestDocumentRequest_Content{Content: []byte(version("beta"))}, Source: "vpn.md", ContentType: "text/plain"})
	require.NoError(t, err)
	job := r.GetJob().GetId()
	select {
	case <-entered: // the job is embedding
	case <-time.After(30 * time.Second): // a hang guard
		t.Fatal("the job never embedded")
	}

	h.app.Service.SuspendTenant("acme")
	require.Eventually(t, func() bool {
		j, err := h.app.Store.GetJob(t.Context(), "acme", job)
		require.NoError(t, err)
		return j.State == store.JobQueued
	}, 30*time.Second, 10*time.Millisecond, "the running job is queued again")
	j, err := h.app.Store.GetJob(t.Context(), "acme", job)
	require.NoError(t, err)
	require.Zero(t, j.Attempts, "a suspension spends no attempt")
	require.Empty(t, j.Error)
	// Released embeddings would let a job that kept running commit now;
	// the stopped one is not claimed while the tenant's key is dropped.
	release()
	select {
	case s := <-h.ch(job):
		t.Fatalf("the job of a suspended tenant ended (state %d)", s)
	case <-time.After(2500 * time.Millisecond): // past a scan of the waiting jobs (every 2 s)
	}
	j, err = h.app.Store.GetJob(t.Context(), "acme", job)
	require.NoError(t, err)
	require.Equal(t, store.JobQueued, j.State, "it waits like a queued job")
	doc, err := h.app.Store.GetDocument(t.Context(), "acme", first.GetDocument().GetId())
	require.NoError(t, err, "the previous version is still there")
	require.Equal(t, store.DocReady, doc.State)
	require.Equal(t, before.Chunks, doc.Chunks)
	doc, err = h.app.Store.GetDocument(t.Context(), "acme", r.GetDocument().GetId())
	require.NoError(t, err)
	require.Equal(t, store.DocProcessing, doc.State, "the new version has no chunks yet")
	require.Zero(t, doc.Chunks)

	// Resumed: the tenant's first call loads its key, the job runs.
	_, err = c.ListDocuments(h.ctx(t, "acme"), &ingestionv1.ListDocumentsRequest{Collection: "kb"})
	require.NoError(t, err)
	require.Equal(t, ingestionv1.JobState_JOB_STATE_SUCCEEDED, h.wait(t, job))
	docs, err := c.ListDocuments(h.ctx(t, "acme"), &ingestionv1.ListDocumentsRequest{Collection: "kb"})
	require.NoError(t, err)
	require.Len(t, docs.GetDocuments(), 1, "the new version replaced the previous one")
	require.Equal(t, r.GetDocument().GetId(), docs.GetDocuments()[0].GetId())
}

// TestSuspensionStopsARunningCrawl (ADR 0123 §1): a crawl fetching a page
// when its tenant is suspended stops fetching at once (the page's request
// is abandoned, no further page is fetched) and is queued again; after the
// resumption it crawls again from its start URL and succeeds, the pages it
// had queued deduplicated. Before, it kept fetching until it was done.
func TestSuspensionStopsARunningCrawl(t *testing.T) {
	h := newHarness(t, opts{allowPrivate: true})
	c := h.client(t, "edge")
	var (
		mu      sync.Mutex
		hold    = true
		fetched = map[string]int{}
	)
	slow := make(chan struct{}, 4)
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		fetched[r.URL.Path]++
		held := hold
		mu.Unlock()
		switch r.URL.Path {
		case "/robots.txt":
			_, _ = io.WriteString(w, "User-agent: *\nAllow: /\n")
		case "/":
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, `<html><head><title>Home</title></head><body><p>Glaciers retreat every summer.</p><a href="/slow">s</a><a href="/after">a</a></body></html>`)
		case "/slow":
			if held { // until the fetch is abandoned
				slow <- struct{}{}
				<-r.Context().Done()
				return
			}
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, `<html><head><title>Slow</title></head><body><p>Volcanoes erupt every seven years.</p></body></html>`)
		case "/after":
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, `<html><head><title>After</title></head><body><p>Deserts cover a third of the land.</p></body></html>`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(site.Close)
	count := func(path string) int {
		mu.Lock()
		defer mu.Unlock()
		return fetched[path]
	}
	_, err := c.CreateCollection(h.ctx(t, "acme"), &ingestionv1.CreateCollectionRequest{Name: "site"})
	require.NoError(t, err)
	res, err := c.CrawlDocuments(h.ctx(t, "acme"), &ingestionv1.CrawlDocumentsRequest{Collection: "site", Url: site.URL + "/", MaxDepth: 1, MaxPages: 10})
	require.NoError(t, err)
	crawl := res.GetJob().GetId()
	select {
	case <-slow: // the crawl is fetching /slow
	case <-time.After(30 * time.Second): // a hang guard
		t.Fatal("the crawl never fetched /slow")
	}

	h.app.Service.SuspendTenant("acme")
	require.Eventually(t, func() bool {
		j, err := h.app.Store.GetJob(t.Context(), "acme", crawl)
		require.NoError(t, err)
		return j.State == store.JobQueued
	}, 30*time.Second, 10*time.Millisecond, "the running crawl is queued again")
	mu.Lock()
	hold = false
	mu.Unlock()
	select {
	case s := <-h.ch(crawl):
		t.Fatalf("the crawl of a suspended tenant ended (state %d)", s)
	case <-time.After(2500 * time.Millisecond): // past a scan of the waiting jobs (every 2 s)
	}
	require.Zero(t, count("/after"), "no page is fetched after the suspension")
	j, err := h.app.Store.GetJob(t.Context(), "acme", crawl)
	require.NoError(t, err)
	require.Equal(t, store.JobQueued, j.State)
	require.Zero(t, j.Attempts)

	// Resumed: the tenant's first call lets the crawl run again.
	_, err = c.ListDocuments(h.ctx(t, "acme"), &ingestionv1.ListDocumentsRequest{Collection: "site"})
	require.NoError(t, err)
	require.Equal(t, ingestionv1.JobState_JOB_STATE_SUCCEEDED, h.wait(t, crawl))
	require.Equal(t, 1, count("/after"))
	docs, err := c.ListDocuments(h.ctx(t, "acme"), &ingestionv1.ListDocumentsRequest{Collection: "site"})
	require.NoError(t, err)
	require.Len(t, docs.GetDocuments(), 3, "each page once: the home page queued before the suspension is not queued twice")
}
