package ingest

import (
	"context"
	"fmt"

	"github.com/rampart-platform/rampart/pkg/periodic"
	"github.com/rampart-platform/rampart/services/ingestion/internal/extract"
	"github.com/rampart-platform/rampart/services/ingestion/internal/keyring"
	"github.com/rampart-platform/rampart/services/ingestion/internal/store"
)

// Re-chunking after a chunker upgrade (ADR 0127). A document records the
// version of the chunker that cut it (chunk.Options.Version). A document
// of an older version is re-chunked from storage: plain text and Markdown
// from their stored text, which is the file (extract.Doc.Located) and
// re-extracts to the same sections, offsets and locations as the upload
// did; HTML, PDF and DOCX from their stored text and outline (the
// headings, pages and title their text lacks, stored since ADR 0133;
// extract.Restore). Those stored before their outline was, and documents
// from before migration 00012 (no text), keep their chunks until their
// content is added (or crawled) again, which re-chunks them
// (store.AddDocument's reindex); the backlog log line counts them. They
// are not fetched again on their own: outbound traffic nobody asked for,
// and a connection's document needs its authorizer (ADR 0094, 0118).

// rechunkTypes are the content types whose stored text is the file; the
// others are re-chunked when their outline is stored.
var rechunkTypes = []string{extract.Plain, extract.Markdown}

// storedDoc is a rechunk job's document, from storage: its stored text,
// extracted again when it is the file, else with its stored outline.
func (s *Service) storedDoc(ctx context.Context, key *keyring.Key, doc store.Document) (extract.Doc, error) {
	if doc.State != store.DocReady {
		return extract.Doc{}, &failure{"re-chunk: the document is not ready"}
	}
	_, sealed, err := s.o.Store.DocumentText(ctx, doc.Tenant, doc.ID)
	if err != nil {
		return extract.Doc{}, err
	}
	if sealed == nil {
		return extract.Doc{}, &failure{"re-chunk: the document's text is not stored; add its content again"}
	}
	text, err := key.Open(kindExtracted, doc.ID, sealed)
	if err != nil {
		return extract.Doc{}, fmt.Errorf("document %s text: %w", doc.ID, err)
	}
	if extract.HasOwnText(doc.ContentType) {
		xdoc, err := extract.Document(doc.ContentType, text)
		clear(text)
		if err != nil {
			s.o.Metrics.extractionFailed(doc.ContentType)
			return extract.Doc{}, &failure{"extract: " + err.Error()}
		}
		return xdoc, nil
	}
	sealedOutline, err := s.o.Store.DocumentOutline(ctx, doc.Tenant, doc.ID)
	if err != nil {
		return extract.Doc{}, err
	}
	if sealedOutline == nil {
		return extract.Doc{}, &failure{"re-chunk: the document's outline is not stored; add its content again"}
	}
	outline, err := key.Open(kindOutline, doc.ID, sealedOutline)
	if err != nil {
		return extract.Doc{}, fmt.Errorf("document %s outline: %w", doc.ID, err)
	}
	xdoc, err := extract.Restore(string(text), outline)
	if err != nil {
		return extract.Doc{}, &failure{"re-chunk: " + err.Error()}
	}
	return xdoc, nil
}

// rechunkLoop keeps up to Options.Rechunk rechunk jobs of the tenants
// whose keys this replica holds queued: every RechunkInterval and whenever
// one ends. The jobs are ordinary jobs (leases, retries, a suspended
// tenant's wait: its key is forgotten, so they are neither claimed nor
// counted against the bound).
func (s *Service) rechunkLoop(ctx context.Context) {
	lastLeft, lastOther := -1, -1
	periodic.Every(ctx, s.o.RechunkInterval, func(ctx context.Context) {
		if n := s.enqueueRechunks(ctx); n > 0 {
			s.wakeOne()
		}
		// the backlog, when it changed: what an operator watches
		if left, other, err := s.o.Store.RechunkBacklog(ctx, s.o.Chunk.Version(), rechunkTypes); err == nil && (left != lastLeft || other != lastOther) {
			s.o.Metrics.rechunkBacklog(left, other)
			if left > 0 || other > 0 || lastLeft > 0 {
				s.log.Info("documents of an older chunker", "chunker", s.o.Chunk.Version(), "to_rechunk", left, "kept_until_added_again", other)
			}
			lastLeft, lastOther = left, other
		}
	}, periodic.AtStart(), periodic.OnWake(s.rechunked))
}

// enqueueRechunks queues the rechunk jobs there is room for.
func (s *Service) enqueueRechunks(ctx context.Context) int {
	n, err := s.o.Store.EnqueueRechunks(ctx, s.o.Ring.Tenants(), s.o.Chunk.Version(), s.o.Rechunk, rechunkTypes)
	if err != nil && ctx.Err() == nil {
		s.log.Warn("queue rechunk jobs", "err", err)
	}
	return n
}

// staleIndex marks this replica's search index of a collection stale, so
// the next search rebuilds it from the database: a reindex or rechunk job
// that did not commit left its new texts under the document's live chunk
// ids. Under own, so a concurrent own change cannot mark it current again.
func (s *Service) staleIndex(tenant, collection string) {
	c := s.cols.get(tenant, collection)
	c.own.Lock()
	defer c.own.Unlock()
	c.mu.Lock()
	c.loaded, c.valid = true, false
	c.mu.Unlock()
	if err := s.o.Lexical.SetGeneration(tenant, collection, ""); err != nil {
		s.log.Warn("mark lexical index stale", "tenant", tenant, "collection", collection, "err", err)
	}
}
