package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	ingestionv1 "github.com/rampart-platform/rampart/gen/go/rampart/ingestion/v1"
)

// site is a small web site on a loopback httptest server: the crawler can
// reach it only when the harness allows private targets (the test-only use
// of RAMPART_INGESTION_FETCH_ALLOW_PRIVATE, refused in the prod profile).
type site struct {
	srv  *httptest.Server
	mu   sync.Mutex
	hits map[string]int
}

var alphaModified = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

func newSite(t *testing.T) *site {
	t.Helper()
	s := &site{hits: map[string]int{}}
	page := func(title, text string, links ...string) string {
		var b strings.Builder
		fmt.Fprintf(&b, "<html><head><title>%s</title></head><body><h1>%s</h1><p>%s</p>", title, title, text)
		for _, l := range links {
			fmt.Fprintf(&b, `<a href="%s">link</a>`, l)
		}
		return b.String() + "</body></html>"
	}
	pages := map[string]string{
		"/":          page("Home", "Welcome to the handbook site.", "/alpha", "/beta#top", "/private/secret", "https://elsewhere.example/x", "/logo.png"),
		"/alpha":     page("Alpha page", "Glaciers retreat eleven metres every summer.", "/gamma"),
		"/beta":      page("Beta page", "Volcanoes on the island erupt every seven years.", "/"),
		"/gamma":     page("Gamma page", "Deserts cover a third of the land.", "/"),
		"/private/x": page("Private", "never crawled"),
	}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hits[r.URL.Path]++
		s.mu.Unlock()
		switch {
		case r.URL.Path == "/robots.txt":
			_, _ = io.WriteString(w, "User-agent: RampartBot\nDisallow: /private/\n")
		case r.URL.Path == "/logo.png":
			w.Header().Set("Content-Type", "image/png")
			_, _ = w.Write([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"))
		case pages[r.URL.Path] != "":
			if r.URL.Path == "/alpha" {
				w.Header().Set("Last-Modified", alphaModified.Format(http.TimeFormat))
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = io.WriteString(w, pages[r.URL.Path])
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *site) hit(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

func (s *site) total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, v := range s.hits {
		n += v
	}
	return n
}

// watch follows a job with WatchJob until the stream ends.
func watch(t *testing.T, h *harness, c ingestionv1.IngestionServiceClient, tenant, job string) []*ingestionv1.Job {
	t.Helper()
	stream, err := c.WatchJob(h.ctx(t, tenant), &ingestionv1.WatchJobRequest{JobId: job})
	require.NoError(t, err)
	var seen []*ingestionv1.Job
	for {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return seen
		}
		require.NoError(t, err)
		seen = append(seen, m.GetJob())
	}
}

func TestCrawlIngestsEachPageWithCitations(t *testing.T) {
	s := newSite(t)
	h := newHarness(t, opts{allowPrivate: true})
	c := h.client(t, "edge")
	ctx := h.ctx(t, "tenant-a")
	_, err := c.CreateCollection(ctx, &ingestionv1.CreateCollectionRequest{Name: "site"})
	require.NoError(t, err)

	before := time.Now().Add(-time.Second)
	res, err := c.CrawlDocuments(ctx, &ingestionv1.CrawlDocumentsRequest{Collection: "site", Url: s.srv.URL + "/", MaxDepth: 1, MaxPages: 10})
	require.NoError(t, err)
	job := res.GetJob()
	require.Equal(t, ingestionv1.JobKind_JOB_KIND_CRAWL, job.GetKind())
	require.Equal(t, ingestionv1.JobState_JOB_STATE_QUEUED, job.GetState())
	require.EqualValues(t, 10, job.GetPagesMax())

	seen := watch(t, h, c, "tenant-a", job.GetId())
	require.NotEmpty(t, seen)
	last := seen[len(seen)-1]
	require.Equal(t, ingestionv1.JobState_JOB_STATE_SUCCEEDED, last.GetState(), "detail: %s, error: %s", last.GetDetail(), last.GetError())
	after := time.Now().Add(time.Second)
	// depth 1: the start page and the pages it links to on the host,
	// robots.txt honoured, the fragment-only variant and the other host
	// not fetched; the image is fetched but not ingested.
	require.EqualValues(t, 4, last.GetPagesDone(), "/, /alpha, /beta, /logo.png")
	require.Zero(t, last.GetDocumentsPending())
	require.Zero(t, last.GetDocumentsFailed())
	require.Contains(t, last.GetDetail(), "4 pages fetched")
	require.Contains(t, last.GetDetail(), "1 disallowed by robots.txt")
	require.Contains(t, last.GetDetail(), "1 of an unsupported content type")
	require.Zero(t, s.hit("/private/secret"))
	require.Zero(t, s.hit("/gamma"), "beyond max_depth")
	require.Equal(t, 1, s.hit("/beta"), "/beta#top is /beta")
	for i := 1; i < len(seen); i++ {
		require.NotEqual(t, seen[i-1].String(), seen[i].String(), "the stream sends changes only")
	}

	docs, err := c.ListDocuments(ctx, &ingestionv1.ListDocumentsRequest{Collection: "site"})
	require.NoError(t, err)
	var sources []string
	for _, d := range docs.GetDocuments() {
		sources = append(sources, d.GetSource())
		require.Equal(t, ingestionv1.DocumentState_DOCUMENT_STATE_READY, d.GetState())
	}
	require.ElementsMatch(t, []string{s.srv.URL + "/", s.srv.URL + "/alpha", s.srv.URL + "/beta"}, sources)

	// The page jobs name their crawl.
	jobs, err := c.ListJobs(ctx, &ingestionv1.ListJobsRequest{Collection: "site"})
	require.NoError(t, err)
	children := 0
	for _, j := range jobs.GetJobs() {
		if j.GetParentJobId() == job.GetId() {
			children++
			require.Equal(t, ingestionv1.JobKind_JOB_KIND_INGEST, j.GetKind())
		}
	}
	require.Equal(t, 3, children)

	for _, tc := range []struct {
		query, path, title string
		modified           *time.Time
	}{
		{"glaciers retreat", "/alpha", "Alpha page", &alphaModified},
		{"volcanoes erupt", "/beta", "Beta page", nil},
	} {
		t.Run(tc.query, func(t *testing.T) {
			sr, err := c.Search(ctx, &ingestionv1.SearchRequest{Collection: "site", Query: tc.query, TopK: 1})
			require.NoError(t, err)
			require.Len(t, sr.GetPassages(), 1)
			p := sr.GetPassages()[0]
			require.Equal(t, s.srv.URL+tc.path, p.GetUrl())
			require.Equal(t, s.srv.URL+tc.path, p.GetSource())
			require.Equal(t, tc.title, p.GetTitle())
			if tc.modified != nil {
				require.True(t, tc.modified.Equal(p.GetUpdatedAt().AsTime()), "Last-Modified is the citation's date: %s", p.GetUpdatedAt().AsTime())
			} else {
				got := p.GetUpdatedAt().AsTime()
				require.True(t, got.After(before) && got.Before(after), "without Last-Modified, the fetch time: %s", got)
			}
		})
	}

	// Crawling again: the same pages are already in the collection.
	res, err = c.CrawlDocuments(ctx, &ingestionv1.CrawlDocumentsRequest{Collection: "site", Url: s.srv.URL + "/", MaxDepth: 1})
	require.NoError(t, err)
	seen = watch(t, h, c, "tenant-a", res.GetJob().GetId())
	last = seen[len(seen)-1]
	require.Equal(t, ingestionv1.JobState_JOB_STATE_SUCCEEDED, last.GetState())
	require.Contains(t, last.GetDetail(), "3 unchanged (already in the collection)")
	require.EqualValues(t, 50, last.GetPagesMax(), "the default page limit")
}

func TestURLIngestKeepsLastModified(t *testing.T) {
	s := newSite(t)
	h := newHarness(t, opts{allowPrivate: true})
	c := h.client(t, "edge")
	ctx := h.ctx(t, "tenant-a")
	_, err := c.CreateCollection(ctx, &ingestionv1.CreateCollectionRequest{Name: "one"})
	require.NoError(t, err)
	r, err := c.IngestDocument(ctx, &ingestionv1.IngestDocumentRequest{Collection: "one", Input: &ingestionv1.IngestDocumentRequest_Url{Url: s.srv.URL + "/alpha?sig=abc"}})
	require.NoError(t, err)
	seen := watch(t, h, c, "tenant-a", r.GetJob().GetId())
	require.Equal(t, ingestionv1.JobState_JOB_STATE_SUCCEEDED, seen[len(seen)-1].GetState())
	require.Equal(t, ingestionv1.JobKind_JOB_KIND_INGEST, seen[len(seen)-1].GetKind())
	sr, err := c.Search(ctx, &ingestionv1.SearchRequest{Collection: "one", Query: "glaciers", TopK: 1})
	require.NoError(t, err)
	require.Len(t, sr.GetPassages(), 1)
	require.Equal(t, s.srv.URL+"/alpha", sr.GetPassages()[0].GetUrl())
	require.True(t, alphaModified.Equal(sr.GetPassages()[0].GetUpdatedAt().AsTime()), "got %s", sr.GetPassages()[0].GetUpdatedAt().AsTime())

	// A source that cannot be fetched is FailedPrecondition naming the
	// field and the failure class, not "failed precondition" again.
	_, err = c.IngestDocument(ctx, &ingestionv1.IngestDocumentRequest{Collection: "one", Input: &ingestionv1.IngestDocumentRequest_Url{Url: s.srv.URL + "/missing"}})
	requireCode(t, err, codes.FailedPrecondition)
	require.Equal(t, "url: fetch failed: the source answered HTTP 404", status.Convert(err).Message())
}

func TestCrawlRefusals(t *testing.T) {
	s := newSite(t)
	h := newHarness(t, opts{}) // the SSRF guard as in production
	c := h.client(t, "edge")
	ctxA, ctxB := h.ctx(t, "tenant-a"), h.ctx(t, "tenant-b")
	_, err := c.CreateCollection(ctxA, &ingestionv1.CreateCollectionRequest{Name: "site"})
	require.NoError(t, err)

	for _, tc := range []struct {
		name  string
		req   *ingestionv1.CrawlDocumentsRequest
		field string
	}{
		{"no url", &ingestionv1.CrawlDocumentsRequest{Collection: "site"}, "url"},
		{"not http", &ingestionv1.CrawlDocumentsRequest{Collection: "site", Url: "file:///etc/passwd"}, "url"},
		{"credentials", &ingestionv1.CrawlDocumentsRequest{Collection: "site", Url: "https://u:p@example.com/"}, "url"},
		{"loopback literal", &ingestionv1.CrawlDocumentsRequest{Collection: "site", Url: s.srv.URL}, "loopback"},
		{"metadata literal", &ingestionv1.CrawlDocumentsRequest{Collection: "site", Url: "http://169.254.169.254/latest/"}, "link-local"},
		{"depth too deep", &ingestionv1.CrawlDocumentsRequest{Collection: "site", Url: "https://example.com/", MaxDepth: 6}, "max_depth"},
		{"depth negative", &ingestionv1.CrawlDocumentsRequest{Collection: "site", Url: "https://example.com/", MaxDepth: -1}, "max_depth"},
		{"too many pages", &ingestionv1.CrawlDocumentsRequest{Collection: "site", Url: "https://example.com/", MaxPages: 201}, "max_pages"},
		{"pages negative", &ingestionv1.CrawlDocumentsRequest{Collection: "site", Url: "https://example.com/", MaxPages: -5}, "max_pages"},
		{"bad collection", &ingestionv1.CrawlDocumentsRequest{Collection: "Site!", Url: "https://example.com/"}, "collection"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.CrawlDocuments(ctxA, tc.req)
			requireCode(t, err, codes.InvalidArgument, tc.field)
		})
	}
	require.Zero(t, s.total(), "nothing was fetched")

	// Another tenant's collection and jobs do not exist for tenant B, even
	// with a request that is wrong in other ways.
	// The message names the caller's own collection name, as for a typo.
	_, err = c.CrawlDocuments(ctxB, &ingestionv1.CrawlDocumentsRequest{Collection: "site", Url: "https://example.com/"})
	requireCode(t, err, codes.NotFound, `collection "site": not found`)
	_, err = c.CrawlDocuments(ctxB, &ingestionv1.CrawlDocumentsRequest{Collection: "site", MaxDepth: 9})
	requireCode(t, err, codes.NotFound, "collection")

	// A host name that resolves to loopback passes validation but the
	// guard refuses the dial: the job fails with the reason, and the site
	// never sees a request (robots.txt included).
	u := strings.Replace(s.srv.URL, "127.0.0.1", "localhost", 1)
	res, err := c.CrawlDocuments(ctxA, &ingestionv1.CrawlDocumentsRequest{Collection: "site", Url: u})
	require.NoError(t, err)
	id := res.GetJob().GetId()

	_, err = c.GetJob(ctxB, &ingestionv1.GetJobRequest{JobId: id})
	requireCode(t, err, codes.NotFound, "job")
	stream, err := c.WatchJob(ctxB, &ingestionv1.WatchJobRequest{JobId: id})
	require.NoError(t, err)
	_, err = stream.Recv()
	requireCode(t, err, codes.NotFound, "job")
	stream, err = c.WatchJob(ctxA, &ingestionv1.WatchJobRequest{})
	require.NoError(t, err)
	_, err = stream.Recv()
	requireCode(t, err, codes.InvalidArgument, "job_id")

	seen := watch(t, h, c, "tenant-a", id)
	last := seen[len(seen)-1]
	require.Equal(t, ingestionv1.JobState_JOB_STATE_FAILED, last.GetState())
	require.Contains(t, last.GetError(), "not allowed: loopback address")
	require.NotContains(t, last.GetError(), "127.0.0.1", "refusals name the kind of range, never the address")
	require.Zero(t, s.total())
}

func TestCrawlOnePerCollection(t *testing.T) {
	h := newHarness(t, opts{noWorkers: true}) // jobs stay queued
	c := h.client(t, "edge")
	ctx := h.ctx(t, "tenant-a")
	for _, name := range []string{"one", "two"} {
		_, err := c.CreateCollection(ctx, &ingestionv1.CreateCollectionRequest{Name: name})
		require.NoError(t, err)
	}
	_, err := c.CrawlDocuments(ctx, &ingestionv1.CrawlDocumentsRequest{Collection: "one", Url: "https://example.com/"})
	require.NoError(t, err)
	_, err = c.CrawlDocuments(ctx, &ingestionv1.CrawlDocumentsRequest{Collection: "one", Url: "https://example.org/"})
	requireCode(t, err, codes.FailedPrecondition, "crawl")
	_, err = c.CrawlDocuments(ctx, &ingestionv1.CrawlDocumentsRequest{Collection: "two", Url: "https://example.org/"})
	require.NoError(t, err, "another collection may crawl")
	// A crawl does not count as a re-embed of the collection.
	_, err = c.UpdateCollection(ctx, &ingestionv1.UpdateCollectionRequest{Collection: "one", EmbeddingModel: "rampart-hash-embed"})
	require.NoError(t, err)
}

func TestWatchJobsPerTenantBounded(t *testing.T) {
	h := newHarness(t, opts{noWorkers: true}) // jobs stay queued: watches stay open
	c := h.client(t, "edge")
	jobs := map[string]string{}
	for _, tenant := range []string{"tenant-a", "tenant-b"} {
		ctx := h.ctx(t, tenant)
		_, err := c.CreateCollection(ctx, &ingestionv1.CreateCollectionRequest{Name: "kb"})
		require.NoError(t, err)
		r, err := c.IngestDocument(ctx, &ingestionv1.IngestDocumentRequest{Collection: "kb", Input: &ingestionv1.IngestDocumentRequest_Content{Content: []byte("queued " + tenant)}})
		require.NoError(t, err)
		jobs[tenant] = r.GetJob().GetId()
	}
	open := func(tenant string) (ingestionv1.IngestionService_WatchJobClient, context.CancelFunc, error) {
		ctx, cancel := context.WithCancel(h.ctx(t, tenant))
		stream, err := c.WatchJob(ctx, &ingestionv1.WatchJobRequest{JobId: jobs[tenant]})
		require.NoError(t, err)
		m, err := stream.Recv()
		if err == nil {
			require.Equal(t, ingestionv1.JobState_JOB_STATE_QUEUED, m.GetJob().GetState())
		}
		return stream, cancel, err
	}
	var cancels []context.CancelFunc
	for range 16 {
		_, cancel, err := open("tenant-a")
		require.NoError(t, err)
		cancels = append(cancels, cancel)
	}
	_, cancel, err := open("tenant-a")
	cancel()
	requireCode(t, err, codes.ResourceExhausted, "at most 16")
	_, cancelB, err := open("tenant-b")
	require.NoError(t, err, "another tenant's watches are its own")
	cancelB()

	cancels[0]()
	require.Eventually(t, func() bool {
		_, cancel, err := open("tenant-a")
		if err != nil {
			cancel()
			return false
		}
		cancels = append(cancels, cancel)
		return true
	}, 10*time.Second, 20*time.Millisecond, "a closed watch frees its slot")
	for _, cancel := range cancels[1:] {
		cancel()
	}
}
