package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/services/ingestion/internal/extract"
	"github.com/rampart-platform/rampart/services/ingestion/internal/fetch"
	"github.com/rampart-platform/rampart/services/ingestion/internal/keyring"
	"github.com/rampart-platform/rampart/services/ingestion/internal/store"
)

// Crawl limits of the API: a request's 0 takes the default; the page
// maximum is the service's setting (Options.CrawlMaxPages).
const (
	DefaultCrawlDepth    = 2
	DefaultCrawlPages    = 50
	DefaultCrawlMaxPages = 200
)

// CrawlInput is a crawl request.
type CrawlInput struct {
	Collection, URL    string
	MaxDepth, MaxPages int
}

// crawlPayload is a crawl job's sealed payload: the start URL is as
// sensitive as a document source.
type crawlPayload struct {
	URL   string `json:"url"`
	Depth int    `json:"depth"`
	Pages int    `json:"pages"`
}

// CrawlMaxPages is the most pages a crawl may ask for.
func (s *Service) CrawlMaxPages() int { return s.o.CrawlMaxPages }

// Crawl validates in and queues a crawl job. The crawl runs in the worker
// pool: it fetches pages through the guarded fetcher and queues one
// document with its own ingest job per page.
func (s *Service) Crawl(ctx context.Context, tenant string, in CrawlInput) (store.Job, error) {
	if err := ValidCollection("collection", in.Collection); err != nil {
		return store.Job{}, err
	}
	// Another tenant's collection is NotFound whatever else is wrong.
	if _, err := s.o.Store.GetCollection(ctx, tenant, in.Collection); err != nil {
		return store.Job{}, notFound(err, collectionNamed(in.Collection))
	}
	if in.URL == "" {
		return store.Job{}, grpcerr.Invalid("url", "is required")
	}
	u, err := fetch.Validate(in.URL)
	if err != nil {
		return store.Job{}, grpcerr.Invalid("url", err.Error())
	}
	// An address literal the guard refuses is refused now, with the reason;
	// a name is checked on every dial while the job runs.
	if a, err := netip.ParseAddr(strings.Trim(u.Hostname(), "[]")); err == nil {
		if why := fetch.Forbidden(a, s.o.Fetcher.AllowsPrivate()); why != "" {
			return store.Job{}, grpcerr.Invalidf("url", "%s: %s", fetch.ErrForbiddenTarget.Error(), why)
		}
	}
	switch {
	case in.MaxDepth < 0 || in.MaxDepth > fetch.MaxCrawlDepth:
		return store.Job{}, grpcerr.Invalidf("max_depth", "must be between 1 and %d (0 takes the default, %d)", fetch.MaxCrawlDepth, DefaultCrawlDepth)
	case in.MaxPages < 0 || in.MaxPages > s.o.CrawlMaxPages:
		return store.Job{}, grpcerr.Invalidf("max_pages", "must be between 1 and %d (0 takes the default, %d)", s.o.CrawlMaxPages, min(DefaultCrawlPages, s.o.CrawlMaxPages))
	}
	p := crawlPayload{URL: fetch.Canonical(u).String(), Depth: in.MaxDepth, Pages: in.MaxPages}
	if p.Depth == 0 {
		p.Depth = DefaultCrawlDepth
	}
	if p.Pages == 0 {
		p.Pages = min(DefaultCrawlPages, s.o.CrawlMaxPages)
	}
	key, err := s.o.Ring.Get(ctx, tenant, true)
	if err != nil {
		return store.Job{}, err
	}
	plain, err := json.Marshal(p)
	if err != nil {
		return store.Job{}, err
	}
	id := newID("job_")
	j, err := s.o.Store.CreateCrawlJob(ctx, tenant, in.Collection, id, p.Pages, key.Seal(kindPayload, id, plain))
	clear(plain)
	if err != nil {
		return store.Job{}, notFound(err, collectionNamed(in.Collection))
	}
	s.enqueue(jobRef{tenant: tenant, id: id, collection: in.Collection, kind: store.KindCrawl})
	return j, nil
}

// finishCrawl marks a crawl succeeded if it is done crawling and no page
// job is left: the crawl's worker calls it when it has fetched its last
// page, and each page job as it ends.
func (s *Service) finishCrawl(r jobRef) {
	ok, err := s.o.Store.FinishCrawl(context.WithoutCancel(context.Background()), r.tenant, r.id)
	if err != nil {
		s.log.Error("finish crawl job", "tenant", r.tenant, "job", r.id, "err", err)
		return
	}
	if ok {
		s.done(r, store.JobSucceeded)
	}
}

// pageEnded lets a page job's crawl finish when it was the last one.
func (s *Service) pageEnded(r jobRef) {
	if r.parent != "" {
		s.finishCrawl(jobRef{tenant: r.tenant, id: r.parent, collection: r.collection, kind: store.KindCrawl})
	}
}

// runCrawl is a crawl job: fetch the pages within the job's limits,
// queue each as a document with its own job, and record what the crawl
// did. Interrupted (restart, lost lease), it runs again from the start:
// pages already queued are deduplicated by content.
func (s *Service) runCrawl(ctx context.Context, key *keyring.Key, r jobRef) error {
	sealed, err := s.o.Store.Payload(ctx, r.tenant, r.id)
	if err != nil {
		return err
	}
	plain, err := key.Open(kindPayload, r.id, sealed)
	if err != nil {
		return err
	}
	var p crawlPayload
	err = json.Unmarshal(plain, &p)
	clear(plain)
	if err != nil {
		return err
	}
	if err := s.o.Store.SetPages(ctx, r.lease, 0); err != nil {
		return err
	}
	if err := s.keySources(ctx, key, r.tenant, r.collection); err != nil {
		return err
	}
	pages := 0
	skipped := map[string]int{}
	stats, err := s.o.Fetcher.Crawl(ctx, p.URL, fetch.CrawlOptions{MaxDepth: p.Depth, MaxPages: p.Pages}, func(pg fetch.Page) error {
		why, err := s.addPage(ctx, key, r, pg)
		if err != nil {
			return err
		}
		if why != "" {
			skipped[why]++
		}
		pages++
		return s.o.Store.SetPages(ctx, r.lease, pages)
	})
	// The crawl's errors name a failure class or HTTP status, never the
	// URL or an address (fetch.classify).
	switch {
	case errors.Is(err, fetch.ErrRobotsUnavailable):
		// Not the site's rules: robots.txt could not be had at all.
		return &failure{"crawl: start URL not crawled: " + err.Error()}
	case errors.Is(err, fetch.ErrDisallowed):
		return &failure{"crawl: robots.txt disallows the start URL for " + fetch.UserAgent}
	case errors.Is(err, fetch.ErrForbiddenTarget), errors.Is(err, fetch.ErrInvalidURL),
		errors.Is(err, fetch.ErrFetch), errors.Is(err, fetch.ErrTooLarge):
		return &failure{"crawl: start page: " + err.Error()}
	case err != nil:
		return err
	}
	detail := stats.String()
	if stats.Truncated {
		detail += "; stopped at the page or byte limit"
	}
	if len(skipped) > 0 {
		reasons := make([]string, 0, len(skipped))
		for why, n := range skipped {
			reasons = append(reasons, fmt.Sprintf("%d %s", n, why))
		}
		sort.Strings(reasons)
		detail += "; not ingested: " + strings.Join(reasons, ", ")
	}
	return s.o.Store.EndCrawl(ctx, r.lease, pages, detail)
}

// addPage queues one crawled page as a document with its own ingest job
// (a child of the crawl). It returns why a page was not queued ("" when
// it was): content that ingestion does not take, or content the
// collection already has.
func (s *Service) addPage(ctx context.Context, key *keyring.Key, r jobRef, pg fetch.Page) (string, error) {
	if len(pg.Body) == 0 {
		return "empty", nil
	}
	ct, why := pageType(pg)
	if why != "" {
		return why, nil
	}
	u, err := url.Parse(pg.URL)
	if err != nil {
		return "", err
	}
	identity := sourceIdentity("", u.String()) // the page's canonical URL
	u.RawQuery = ""                            // a query may carry a signature: not for citations
	modified := pg.LastModified
	if modified.IsZero() {
		modified = s.o.Now().UTC() // the fetch time
	}
	doc := store.Document{
		Tenant: r.tenant, ID: newID("doc_"), Collection: r.collection, ContentMAC: key.MAC(pg.Body),
		ContentType: ct, SizeBytes: int64(len(pg.Body)), ModifiedAt: modified,
		Chunker: s.o.Chunk.Version(), // a re-crawl re-chunks an older chunker's page
	}
	doc.Source = key.Seal(kindSource, doc.ID, []byte(u.String()))
	doc.SourceMAC = sourceMAC(key, identity) // a re-crawl replaces the page
	job := store.Job{ID: newID("job_"), ParentID: r.id}
	d, j, dedup, err := s.o.Store.AddDocument(ctx, doc, job, key.Seal(kindPayload, job.ID, pg.Body))
	if err != nil {
		return "", err
	}
	if dedup {
		return "unchanged (already in the collection)", nil
	}
	s.enqueue(jobRef{tenant: r.tenant, id: j.ID, doc: d.ID, collection: d.Collection, parent: r.id})
	return "", nil
}

// pageType is the content type ingestion extracts a page as, or why it
// does not take the page.
func pageType(pg fetch.Page) (contentType, why string) {
	ct, err := extract.Normalize(pg.ContentType, pg.Body)
	switch {
	case err != nil:
		return "", "of an unsupported content type"
	case !extract.Binary(ct) && !utf8.Valid(pg.Body):
		return "", "not UTF-8 text"
	}
	return ct, ""
}
