package ingest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/pkg/hashembed"
	"github.com/rampart-platform/rampart/pkg/periodic"
	"github.com/rampart-platform/rampart/services/ingestion/internal/chunk"
	"github.com/rampart-platform/rampart/services/ingestion/internal/embed"
	"github.com/rampart-platform/rampart/services/ingestion/internal/extract"
	"github.com/rampart-platform/rampart/services/ingestion/internal/index"
	"github.com/rampart-platform/rampart/services/ingestion/internal/keyring"
	"github.com/rampart-platform/rampart/services/ingestion/internal/store"
)

// progressEvery is how many chunks are embedded at a time; progress is
// written after such a batch when progressInterval has passed since the
// last write (each write is a fenced transaction: per batch it was 4% of
// ingestion's CPU, and a progress bar needs no more than a few a second).
const (
	progressEvery    = 64
	progressInterval = 250 * time.Millisecond
)

// Run processes jobs until ctx ends. The queue is the jobs table, shared
// by every replica on the database: each worker claims the oldest
// claimable job of a tenant whose key this replica holds (a lease, renewed
// while the job runs; see store.ClaimNext), so no job runs on two replicas
// at once and the job of a replica that died is retaken once its lease
// expires. Jobs of a tenant whose key is not in memory wait for the
// tenant's next call on some replica (Unlock).
func (s *Service) Run(ctx context.Context) error {
	s.dropOrphanIndexes(ctx)
	s.refreshWaiting(ctx)
	s.resumed.Store(true)
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		periodic.Every(ctx, s.o.PollInterval, func(ctx context.Context) {
			s.refreshWaiting(ctx)
			s.wakeOne()
		})
		return nil
	})
	if s.o.Rechunk > 0 {
		g.Go(func() error { s.rechunkLoop(ctx); return nil })
	}
	for range s.o.Workers {
		g.Go(func() error { s.work(ctx); return nil })
	}
	return g.Wait()
}

// dropOrphanIndexes deletes the local index directories of tenants that
// have no collection in the database: tenants purged while this replica
// was down (the replica that handled the purge cannot reach this one's
// disk, and the shared event cursor has moved past it).
func (s *Service) dropOrphanIndexes(ctx context.Context) {
	tenants, err := s.o.Store.Tenants(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("list tenants for index cleanup", "err", err)
		}
		return
	}
	n, err := s.o.Lexical.DropOtherTenants(tenants)
	if err != nil {
		s.log.Warn("delete indexes of purged tenants", "err", err)
	}
	if n > 0 {
		s.log.Info("deleted local indexes of tenants no longer in the database", "tenants", n)
	}
}

// refreshWaiting records the tenants with claimable jobs whose keys this
// replica does not hold, so their next call here unlocks them.
func (s *Service) refreshWaiting(ctx context.Context) {
	tenants, err := s.o.Store.WaitingTenants(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("list tenants with waiting jobs", "err", err)
		}
		return
	}
	waiting := make(map[string]bool, len(tenants))
	for _, t := range tenants {
		if _, ok := s.o.Ring.Cached(t); !ok {
			waiting[t] = true
		}
	}
	// Counted before the hand-over: once stored, the map belongs to s.mu
	// (unpark deletes from it).
	n := len(waiting)
	s.mu.Lock()
	s.waiting = waiting
	s.mu.Unlock()
	if n > 0 && !s.resumed.Load() {
		s.log.Info("jobs wait for their tenants' next call (keys not in memory)", "tenants", n)
	}
}

// enqueue wakes a worker for a job just written to the queue.
func (s *Service) enqueue(jobRef) { s.wakeOne() }

func (s *Service) wakeOne() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// unpark wakes the workers once a tenant's key is in memory.
func (s *Service) unpark(tenant string) {
	s.mu.Lock()
	delete(s.waiting, tenant)
	s.mu.Unlock()
	s.wakeOne()
}

func (s *Service) work(ctx context.Context) {
	for {
		j, holder, ok := s.claim(ctx)
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-s.wake:
			case <-time.After(s.o.PollInterval):
			}
			continue
		}
		// more work may be queued: let another worker look too
		s.wakeOne()
		s.process(ctx, j, holder)
	}
}

// claim takes the next job this replica can open.
func (s *Service) claim(ctx context.Context) (store.Job, string, bool) {
	tenants := s.o.Ring.Tenants()
	if len(tenants) == 0 {
		return store.Job{}, "", false
	}
	holder := store.NewHolder(s.o.Replica)
	j, ok, err := s.o.Store.ClaimNext(ctx, tenants, holder, s.o.JobLease)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("claim ingestion job", "err", err)
		}
		return store.Job{}, "", false
	}
	return j, holder, ok
}

// failure is a job failure whose message is safe to show the tenant.
type failure struct{ msg string }

func (f *failure) Error() string { return f.msg }

// errLeaseLost cancels a job whose lease another replica took.
var errLeaseLost = errors.New("job lease lost")

// errTenantSuspended cancels the running jobs of a tenant that was
// suspended (or deleted): they are queued again, to wait like the
// tenant's other jobs (ADR 0123 §1).
var errTenantSuspended = errors.New("tenant suspended")

// SuspendTenant is told of a tenant suspended or deleted (auth's tenant
// event stream): it drops the tenant's data key, so its queued jobs are
// not claimed (ADR 0115), and stops the jobs of the tenant this replica is
// running at their next step — a fetch, an extraction, a batch of
// embeddings, the commit — and queues them again without spending an
// attempt. Nothing of a stopped job is committed: a document keeps the
// version it had (its chunks change in one transaction), a crawl runs
// again from its start URL (pages it queued are deduplicated). Once the
// tenant is resumed, its jobs run again when a request of it loads the
// key, like its other waiting jobs.
func (s *Service) SuspendTenant(tenant string) {
	// The key first: a job claimed meanwhile finds it gone (process).
	s.o.Ring.Forget(tenant)
	s.mu.Lock()
	jobs := s.running[tenant]
	cancels := make([]context.CancelCauseFunc, 0, len(jobs))
	for _, c := range jobs {
		cancels = append(cancels, c)
	}
	s.mu.Unlock()
	for _, c := range cancels {
		c(errTenantSuspended)
	}
	if len(cancels) > 0 {
		s.log.Info("running jobs of a suspended tenant stopped; they wait for its resumption", "tenant", tenant, "jobs", len(cancels))
	}
}

// track registers a running job's cancel for SuspendTenant until the
// returned func is called.
func (s *Service) track(r jobRef, cancel context.CancelCauseFunc) (untrack func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running[r.tenant] == nil {
		s.running[r.tenant] = map[string]context.CancelCauseFunc{}
	}
	s.running[r.tenant][r.id] = cancel
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.running[r.tenant], r.id)
		if len(s.running[r.tenant]) == 0 {
			delete(s.running, r.tenant)
		}
	}
}

// requeue gives a job stopped by its tenant's suspension back to the
// queue: queued, no progress, no attempt spent.
func (s *Service) requeue(r jobRef) {
	if err := s.o.Store.Requeue(context.WithoutCancel(context.Background()), r.lease); err != nil {
		s.log.Warn("requeue a suspended tenant's job (its lease expires anyway)", "tenant", r.tenant, "job", r.id, "err", err)
	}
	// The tenant's next call here loads its key again (Unlock), without
	// waiting for the next scan of the waiting tenants.
	s.mu.Lock()
	s.waiting[r.tenant] = true
	s.mu.Unlock()
}

func (s *Service) process(ctx context.Context, j store.Job, holder string) {
	r := jobRef{tenant: j.Tenant, id: j.ID, doc: j.DocumentID, collection: j.Collection, kind: j.Kind, parent: j.ParentID,
		lease: store.Lease{Tenant: j.Tenant, JobID: j.ID, Holder: holder}, attempts: j.Attempts}
	jobCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// Tracked before the key is looked up: a suspension either finds the
	// job here and stops it, or dropped the key before the lookup.
	untrack := s.track(r, cancel)
	defer untrack()
	key, ok := s.o.Ring.Cached(r.tenant)
	if !ok { // expired (or the tenant suspended) since the claim: give the job back
		s.release(r)
		return
	}
	stopRenew := s.renew(jobCtx, r.lease, cancel)
	run := s.run
	switch {
	case r.kind == store.KindCrawl:
		run = s.runCrawl
	case r.doc == "":
		run = s.runReembed
	}
	err := run(jobCtx, key, r)
	stopRenew()
	lost := errors.Is(context.Cause(jobCtx), errLeaseLost)
	suspended := errors.Is(context.Cause(jobCtx), errTenantSuspended)
	cancel(nil)
	var f *failure
	switch {
	case err == nil && r.kind == store.KindCrawl:
		// done crawling: the crawl succeeds once its page jobs have ended
		s.finishCrawl(r)
		s.o.Metrics.job(r.kind, outcomeSucceeded)
	case err == nil:
		s.o.Metrics.job(r.kind, outcomeSucceeded) // counted before OnJobDone
		s.done(r, store.JobSucceeded)
	case suspended && ctx.Err() == nil:
		// stopped by the tenant's suspension before its commit: it waits
		// as a queued job (ADR 0123 §1)
		s.requeue(r)
		s.o.Metrics.job(r.kind, "requeued")
	case lost || errors.Is(err, store.ErrLeaseLost):
		// another replica holds the job now (this one stalled past its
		// lease): its outcome is the one that counts
		s.log.Warn("ingestion job lease lost; another replica runs it", "tenant", r.tenant, "job", r.id)
		s.o.Metrics.job(r.kind, "lease_lost")
	case errors.Is(err, embed.ErrUnavailable) && ctx.Err() == nil:
		s.retryLater(r, err.Error())
	case errors.Is(err, store.ErrStale):
		// the collection's model changed (or, for a re-embed, its chunks)
		// while the job ran: run it again with the current state
		s.release(r)
		s.wakeOne()
		s.o.Metrics.job(r.kind, "rerun")
	case errors.Is(err, store.ErrNotFound):
		// deleted while queued: nothing to do (but its crawl may be done)
		s.pageEnded(r)
		s.o.Metrics.job(r.kind, "gone")
	case ctx.Err() != nil:
		// shutting down: give the job back so another replica takes it
		// now rather than when the lease expires
		s.release(r)
		s.o.Metrics.job(r.kind, "released")
	case errors.As(err, &f):
		s.fail(r, f.msg)
	default:
		s.log.Error("ingestion job failed", "tenant", r.tenant, "job", r.id, "err", err)
		s.fail(r, "internal error")
	}
}

// renew extends the job's lease every third of its length until the
// returned stop is called; a lost lease cancels the job.
func (s *Service) renew(ctx context.Context, l store.Lease, cancel context.CancelCauseFunc) (stop func()) {
	ctx, stopRenew := context.WithCancel(ctx)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		periodic.Every(ctx, s.o.JobLease/3, func(ctx context.Context) {
			err := s.o.Store.RenewLease(ctx, l, s.o.JobLease)
			switch {
			case errors.Is(err, store.ErrLeaseLost):
				cancel(errLeaseLost) // ends ctx too: no renewal after it
			case err != nil && ctx.Err() == nil:
				// the database is unreachable: keep working, the
				// fenced commit decides whether the work counts
				s.log.Warn("renew ingestion job lease", "job", l.JobID, "err", err)
			}
		})
	}()
	return func() { stopRenew(); <-finished }
}

func (s *Service) release(r jobRef) {
	if err := s.o.Store.ReleaseLease(context.WithoutCancel(context.Background()), r.lease); err != nil {
		s.log.Warn("release ingestion job lease (it expires anyway)", "job", r.id, "err", err)
	}
}

// retryLater records a job whose embedding model was unavailable as failed
// with the reason, keeping its payload, and runs it again after a backoff
// (on whichever replica claims it then, also after a restart); after
// RetryAttempts runs it fails for good.
func (s *Service) retryLater(r jobRef, reason string) {
	n := r.attempts + 1
	if n >= s.o.RetryAttempts {
		s.fail(r, fmt.Sprintf("%s (gave up after %d attempts)", reason, n))
		return
	}
	delay := min(s.o.RetryDelay<<(n-1), 30*time.Minute)
	msg := fmt.Sprintf("%s; retrying in %s (attempt %d of %d)", reason, delay.Round(time.Second), n, s.o.RetryAttempts)
	if err := s.o.Store.FailRetryable(context.WithoutCancel(context.Background()), r.lease, msg, time.Now().Add(delay)); err != nil {
		if !errors.Is(err, store.ErrLeaseLost) {
			s.log.Error("record job retry", "tenant", r.tenant, "job", r.id, "err", err)
		}
		return
	}
	s.log.Warn("embedding model unavailable; job retries later", "tenant", r.tenant, "job", r.id, "delay_us", delay.Microseconds())
	s.o.Metrics.job(r.kind, "retry")
	s.done(r, store.JobFailed)
	time.AfterFunc(delay, s.wakeOne)
}

func (s *Service) fail(r jobRef, msg string) {
	doc := r.doc
	if store.KeepsDocument(r.kind) {
		doc = "" // the document stays ready with the chunks it had
	}
	if err := s.o.Store.Fail(context.WithoutCancel(context.Background()), r.lease, doc, msg); err != nil {
		if !errors.Is(err, store.ErrLeaseLost) {
			s.log.Error("record job failure", "tenant", r.tenant, "job", r.id, "err", err)
		}
		return
	}
	s.o.Metrics.job(r.kind, outcomeFailed)
	s.done(r, store.JobFailed)
}

func (s *Service) done(r jobRef, state int) {
	if r.kind == store.KindRechunk {
		select { // room for the next one
		case s.rechunked <- struct{}{}:
		default:
		}
	}
	if s.o.OnJobDone != nil {
		s.o.OnJobDone(r.tenant, r.id, state)
	}
	s.pageEnded(r)
}

// run is one job: open the payload, extract, chunk, embed, index, seal and
// commit the chunks with the job's success in one transaction.
func (s *Service) run(ctx context.Context, key *keyring.Key, r jobRef) error {
	in, err := s.prepare(ctx, key, r)
	if err != nil {
		return err
	}
	c, err := s.embedChunks(ctx, key, r, in)
	if err != nil {
		return err
	}
	return s.commit(ctx, key, r, in, c)
}

// jobInput is a document job's input, extracted and chunked.
type jobInput struct {
	doc   store.Document
	col   store.Collection
	xdoc  extract.Doc
	parts []chunk.Piece
	// locs are where each part's sentences are (docs/adr/0085)
	locs [][]SpanLocation
	// text is the extracted text locs index, stored with the chunks
	// (docs/adr/0094)
	text string
}

// prepare reads the job's document and collection, opens its payload and
// extracts and chunks it.
func (s *Service) prepare(ctx context.Context, key *keyring.Key, r jobRef) (*jobInput, error) {
	sealed, err := s.o.Store.Payload(ctx, r.tenant, r.id)
	if err != nil {
		return nil, err
	}
	doc, err := s.o.Store.GetDocument(ctx, r.tenant, r.doc)
	if err != nil {
		return nil, err
	}
	col, err := s.o.Store.GetCollection(ctx, r.tenant, doc.Collection)
	if err != nil {
		return nil, err
	}
	var xdoc extract.Doc
	if r.kind == store.KindRechunk {
		if xdoc, err = s.storedDoc(ctx, key, doc); err != nil {
			return nil, err
		}
		if err := s.o.Store.SetProgress(ctx, r.lease, store.JobRunning, 0, 0); err != nil {
			return nil, err
		}
	} else {
		content, err := key.Open(kindPayload, r.id, sealed)
		if err != nil {
			return nil, err
		}
		if err := s.o.Store.SetProgress(ctx, r.lease, store.JobRunning, 0, 0); err != nil {
			return nil, err
		}
		xdoc, err = extract.Document(doc.ContentType, content)
		clear(content)
		if err != nil {
			s.o.Metrics.extractionFailed(doc.ContentType)
			return nil, &failure{"extract: " + err.Error()}
		}
	}
	secs := make([]chunk.Section, len(xdoc.Sections))
	for i, sec := range xdoc.Sections {
		secs[i] = chunk.Section{Heading: sec.HeadingPath(), Text: sec.Text, Start: sec.Start}
	}
	parts := chunk.SplitSections(secs, s.o.Chunk)
	if len(parts) == 0 {
		s.o.Metrics.extractionFailed(doc.ContentType)
		return nil, &failure{"extract: the document has no text"}
	}
	return &jobInput{doc: doc, col: col, xdoc: xdoc, parts: parts, locs: locateParts(xdoc, parts), text: xdoc.Located()}, nil
}

// chunks are a document's chunks ready to commit: the sealed rows, and
// the entries for the lexical index and the cached vectors.
type chunks struct {
	rows    []store.Chunk
	entries []index.Entry
	vectors []index.VectorEntry
}

// embedChunks embeds the parts in batches of progressEvery (reporting
// progress between them) and seals each chunk's text, heading and vector.
func (s *Service) embedChunks(ctx context.Context, key *keyring.Key, r jobRef, in *jobInput) (*chunks, error) {
	doc, col, parts := in.doc, in.col, in.parts
	total := len(parts)
	if err := s.o.Store.SetProgress(ctx, r.lease, store.JobRunning, 0, total); err != nil {
		return nil, err
	}
	lastProgress := time.Now()
	rows := make([]store.Chunk, 0, total)
	entries := make([]index.Entry, 0, total)
	vectors := make([]index.VectorEntry, 0, total)
	texts := make([]string, 0, progressEvery)
	var opening []float32 // the document's opening vector (mixesDocument)
	var vbuf []byte       // a vector's encoding, before sealing
	for start := 0; start < total; start += progressEvery {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		end := min(start+progressEvery, total)
		// The document title is part of what is embedded and indexed, so a
		// chunk deep in "OPTIONS" of a page still carries the page's
		// subject. Heading paths are not: on the git-doc set, indexing them
		// (as text or as a boosted field) lowered recall@5 — man-page
		// headings are generic ("OPTIONS", "FILES") and command names are
		// everyday verbs; see the README's retrieval section.
		texts = texts[:0]
		for _, p := range parts[start:end] {
			texts = append(texts, withContext(in.xdoc.Title, p.Text))
		}
		vecs, words, err := s.embedChunkTexts(ctx, r.tenant, col, texts)
		if err != nil {
			return nil, err
		}
		if start == 0 && s.mixesDocument(col) {
			// the document's opening: title and first chunk, as embedded
			// (a copy: the first chunk's vector is mixed in place below)
			opening = slices.Clone(vecs[0])
		}
		if opening != nil {
			for i := range vecs {
				vecs[i] = hashembed.MixInto(vecs[i], vecs[i], opening, embed.DocumentMix)
			}
		}
		for i, v := range vecs {
			seq := start + i
			id := chunkID(doc.ID, seq)
			p := parts[seq]
			row := store.Chunk{
				DocumentID: doc.ID, Seq: seq,
				Text: key.Seal(kindText, id, []byte(p.Text)),
			}
			vbuf = appendVector(vbuf[:0], v)
			row.Vector = key.Seal(kindVector, id, vbuf)
			if p.Heading != "" {
				row.Heading = key.Seal(kindHeading, id, []byte(p.Heading))
			}
			if len(in.locs[seq]) > 0 {
				row.Location = key.Seal(kindLocation, id, encodeLocation(in.locs[seq]))
			}
			rows = append(rows, row)
			entries = append(entries, index.Entry{ID: id, Text: texts[i], Words: words[i]})
			vectors = append(vectors, index.VectorEntry{ID: id, Vec: v})
		}
		if end < total && time.Since(lastProgress) >= progressInterval {
			if err := s.o.Store.SetProgress(ctx, r.lease, store.JobRunning, end, total); err != nil {
				return nil, err
			}
			lastProgress = time.Now()
		}
	}
	return &chunks{rows: rows, entries: entries, vectors: vectors}, nil
}

// docMeta is what a job stores on its document, sealed: the extracted
// text, the title, and for a format whose text is not its file the outline
// (headings, pages) the text lacks, so a chunker upgrade re-chunks the
// document from storage (ADR 0133).
func (s *Service) docMeta(key *keyring.Key, in *jobInput) (store.DocMeta, error) {
	doc, xdoc := in.doc, in.xdoc
	meta := store.DocMeta{Text: key.Seal(kindExtracted, doc.ID, []byte(in.text)), Chunker: s.o.Chunk.Version()}
	if !extract.HasOwnText(doc.ContentType) {
		outline, err := xdoc.MarshalOutline()
		if err != nil {
			return store.DocMeta{}, err
		}
		meta.Outline = key.Seal(kindOutline, doc.ID, outline)
	}
	if xdoc.Title != "" {
		meta.Title = key.Seal(kindTitle, doc.ID, []byte(xdoc.Title))
	}
	return meta, nil
}

// commit stores the document's title and date, indexes the chunks and
// commits them with the job's success; the versions of the source it
// replaces leave the index and the cached vectors.
func (s *Service) commit(ctx context.Context, key *keyring.Key, r jobRef, in *jobInput, c *chunks) error {
	doc, col, xdoc := in.doc, in.col, in.xdoc
	rows, entries, vectors := c.rows, c.entries, c.vectors
	meta, err := s.docMeta(key, in)
	if err != nil {
		return err
	}
	if !xdoc.UpdatedAt.IsZero() { // the document's own date, for citations
		if err := s.o.Store.SetModified(ctx, r.tenant, doc.ID, xdoc.UpdatedAt); err != nil {
			return err
		}
	}
	var removed []string // chunks of the versions this one replaces
	err = s.change(r.tenant, doc.Collection, func() (store.Generation, error) {
		// Index first: ids are stable, so a crash before the commit below
		// only means the retried job re-indexes the same ids; search
		// ignores index entries without committed rows.
		if err := s.o.Lexical.Index(r.tenant, doc.Collection, entries); err != nil {
			return store.Generation{}, err
		}
		g, replaced, err := s.complete(ctx, r, doc.ID, col.EmbeddingModel, rows, meta)
		if err == nil {
			// committed: the previous versions of the source are gone from
			// the database (search ignores their index entries already);
			// take them out of the index too
			for _, old := range replaced {
				removed = append(removed, chunkIDs(old.ID, old.Chunks)...)
			}
			// a re-chunked document's chunks past its new count
			removed = append(removed, chunksPast(doc, len(rows))...)
			if len(removed) > 0 {
				if derr := s.o.Lexical.Delete(r.tenant, doc.Collection, removed); derr != nil {
					// committed all the same: search skips entries
					// without rows, and a rebuild drops them
					s.log.Warn("remove replaced chunks from the lexical index", "tenant", r.tenant, "err", derr)
				}
			}
		}
		if err != nil {
			// not committed (deleted meanwhile, lease lost, stale): take
			// back the index entries; if another replica committed the
			// document, the generation moved and a search rebuilds
			// A re-chunked document keeps its rows: only the ids past its
			// chunk count have none, and the others' entries now hold the
			// new texts: the index is marked stale, so the next search
			// rebuilds it from the rows (the old chunks; ADR 0127).
			ids := make([]string, 0, len(entries))
			for i, e := range entries {
				if i >= doc.Chunks || !store.KeepsDocument(r.kind) {
					ids = append(ids, e.ID)
				}
			}
			_ = s.o.Lexical.Delete(r.tenant, doc.Collection, ids)
			if store.KeepsDocument(r.kind) && min(len(entries), doc.Chunks) > 0 {
				s.staleIndex(r.tenant, doc.Collection)
			}
		}
		return g, err
	}, func() {
		// committed: the cached vectors take the chunks in place (a large
		// collection links them into its live graph) instead of reloading
		s.o.Vectors.Add(r.tenant, doc.Collection, vectors)
		if len(removed) > 0 {
			s.o.Vectors.Remove(r.tenant, doc.Collection, removed)
		}
	})
	if err != nil {
		return err
	}
	s.o.Metrics.indexed(len(rows))
	s.upgradeHash(ctx, key, col)
	return nil
}

// complete commits a document job's chunks (store.Complete), after the
// test hook beforeCommit when set.
func (s *Service) complete(ctx context.Context, r jobRef, docID, model string, rows []store.Chunk, meta store.DocMeta) (store.Generation, []store.Document, error) {
	if s.beforeCommit != nil {
		if err := s.beforeCommit(r); err != nil {
			return store.Generation{}, nil, err
		}
	}
	return s.o.Store.Complete(ctx, r.lease, docID, model, rows, meta)
}

// chunksPast are the ids of doc's chunks (as it was read before the job)
// from seq n on: a reindex job replacing them with fewer.
func chunksPast(doc store.Document, n int) []string {
	if doc.Chunks <= n {
		return nil
	}
	return chunkIDs(doc.ID, doc.Chunks)[n:]
}

// runReembed is a re-embed job: every chunk of the collection is embedded
// again with the job's model (the sealed payload) and all vectors are
// replaced, with the collection's model, in one transaction.
func (s *Service) runReembed(ctx context.Context, key *keyring.Key, r jobRef) error {
	sealed, err := s.o.Store.Payload(ctx, r.tenant, r.id)
	if err != nil {
		return err
	}
	model, err := key.Open(kindPayload, r.id, sealed)
	if err != nil {
		return err
	}
	target := store.Collection{Tenant: r.tenant, Name: r.collection, EmbeddingModel: string(model)}
	if store.HashVersion(target.EmbeddingModel) > 0 { // any version: the current one
		target.EmbeddingModel, target.EmbeddingDims = s.hashModel(), s.o.Embedder.Dimensions()
	}
	if err := s.tenantMayUse(r.tenant, target.EmbeddingModel); err != nil {
		return err
	}
	chunks, err := s.o.Store.CollectionChunks(ctx, r.tenant, r.collection)
	if err != nil {
		return err
	}
	total := len(chunks)
	if err := s.o.Store.SetProgress(ctx, r.lease, store.JobRunning, 0, total); err != nil {
		return err
	}
	vectors := make(map[store.ChunkRef][]byte, total)
	titles := map[string]string{}
	openings := map[string][]float32{} // document → its opening's vector
	texts := make([]string, 0, progressEvery)
	for start := 0; start < total; start += progressEvery {
		end := min(start+progressEvery, total)
		texts, err = reembedTexts(key, chunks[start:end], titles, texts[:0])
		if err != nil {
			return err
		}
		vecs, err := s.embedTexts(ctx, r.tenant, "", nil, target, texts)
		if err != nil {
			return err
		}
		if s.mixesDocument(target) {
			mixOpenings(chunks[start:end], vecs, openings)
		}
		for i, v := range vecs {
			c := chunks[start+i]
			if target.EmbeddingDims == 0 {
				target.EmbeddingDims = len(v)
			}
			vectors[store.ChunkRef{DocumentID: c.DocumentID, Seq: c.Seq}] = key.Seal(kindVector, chunkID(c.DocumentID, c.Seq), encodeVector(v))
		}
		if err := s.o.Store.SetProgress(ctx, r.lease, store.JobRunning, end, total); err != nil {
			return err
		}
	}
	if target.EmbeddingDims == 0 { // an empty collection: learn the dimensions
		if target.EmbeddingDims, err = s.probe(ctx, r.tenant, "", nil, target.EmbeddingModel); err != nil {
			if errors.Is(err, grpcerr.ErrUnavailable) {
				return fmt.Errorf("%w: %s", embed.ErrUnavailable, err.Error())
			}
			return &failure{err.Error()}
		}
	}
	// The lexical index does not change (same texts): only the vectors.
	return s.change(r.tenant, r.collection, func() (store.Generation, error) {
		return s.o.Store.CompleteReembed(ctx, r.lease, r.collection, target.EmbeddingModel, target.EmbeddingDims, vectors)
	}, nil)
}

// reembedTexts opens a batch of stored chunks and appends to texts what
// was embedded for each at ingestion (withContext: the document title and
// the text); titles caches the documents' opened titles.
func reembedTexts(key *keyring.Key, batch []store.ReembedChunk, titles map[string]string, texts []string) ([]string, error) {
	for _, c := range batch {
		id := chunkID(c.DocumentID, c.Seq)
		text, err := key.Open(kindText, id, c.Text)
		if err != nil {
			return nil, err
		}
		title, ok := titles[c.DocumentID]
		if !ok && c.Title != nil {
			t, err := key.Open(kindTitle, c.DocumentID, c.Title)
			if err != nil {
				return nil, err
			}
			title = string(t)
			titles[c.DocumentID] = title
		}
		texts = append(texts, withContext(title, string(text)))
	}
	return texts, nil
}

// mixOpenings mixes each chunk's vector with its document's opening, as at
// ingestion: chunks come ordered by document and seq, so a document's
// first chunk (its opening) comes before the rest.
func mixOpenings(batch []store.ReembedChunk, vecs [][]float32, openings map[string][]float32) {
	for i, c := range batch {
		if c.Seq == 0 {
			openings[c.DocumentID] = vecs[i]
		}
	}
	for i, c := range batch {
		if o, ok := openings[c.DocumentID]; ok {
			vecs[i] = hashembed.Mix(vecs[i], o, embed.DocumentMix)
		}
	}
}

// embedChunkTexts is embedTexts for ingestion: with the local hash
// embedder it also gives each text's word ids (embed.Hash.EmbedWords; nil
// where there are none), so the lexical index does not scan the texts a
// second time; the words are nil for every text otherwise.
func (s *Service) embedChunkTexts(ctx context.Context, tenant string, col store.Collection, texts []string) ([][]float32, [][]uint32, error) {
	if store.HashVersion(col.EmbeddingModel) > 0 {
		if h, ok := s.hashEmbedder(col).(embed.Hash); ok {
			vecs, words := h.EmbedWords(texts)
			return vecs, words, nil
		}
	}
	vecs, err := s.embedTexts(ctx, tenant, "", nil, col, texts)
	return vecs, make([][]uint32, len(texts)), err
}

// embedTexts embeds texts with the collection's model: the local hash
// embedder, or the registry model through inference for the tenant, and
// for the key within keyLimits when a caller waits (nil: a background job;
// ADR 0106).
func (s *Service) embedTexts(ctx context.Context, tenant, key string, keyLimits *inferencev1.KeyLimits, col store.Collection, texts []string) ([][]float32, error) {
	if store.HashVersion(col.EmbeddingModel) > 0 {
		return s.hashEmbedder(col).Embed(texts), nil
	}
	if err := s.tenantMayUse(tenant, col.EmbeddingModel); err != nil {
		return nil, err
	}
	if s.o.Models == nil {
		return nil, fmt.Errorf("%w: `%s`: no inference service is configured", embed.ErrUnavailable, col.EmbeddingModel)
	}
	vecs, err := s.o.Models.EmbedForTenant(ctx, tenant, key, col.EmbeddingModel, embed.Limits{Tenant: s.jobLimits(tenant), Key: keyLimits}, texts)
	if err != nil {
		if errors.Is(err, embed.ErrRejected) {
			return nil, &failure{err.Error()}
		}
		return nil, err
	}
	for _, v := range vecs {
		if col.EmbeddingDims > 0 && len(v) != col.EmbeddingDims {
			return nil, &failure{fmt.Sprintf("embedding model `%s` returned %d dimensions, the collection has %d", col.EmbeddingModel, len(v), col.EmbeddingDims)}
		}
	}
	return vecs, nil
}

// mixesDocument reports whether col's chunk vectors mix in their
// document's opening (embed.DocumentMix).
func (s *Service) mixesDocument(col store.Collection) bool {
	return store.HashVersion(col.EmbeddingModel) > 0 && embed.MixesDocument(s.hashEmbedder(col))
}

// withContext prefixes a chunk's text with its context line(s).
func withContext(ctx, text string) string {
	if ctx == "" {
		return text
	}
	return ctx + "\n" + text
}

func encodeVector(v []float32) []byte { return appendVector(make([]byte, 0, 4*len(v)), v) }

// appendVector appends v's encoding (little-endian float32s) to b.
func appendVector(b []byte, v []float32) []byte {
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

func decodeVector(b []byte) []float32 {
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

// splitChunkID parses "doc:seq".
func splitChunkID(id string) (string, int, bool) {
	i := strings.LastIndexByte(id, ':')
	if i <= 0 {
		return "", 0, false
	}
	n := 0
	for _, c := range id[i+1:] {
		if c < '0' || c > '9' {
			return "", 0, false
		}
		n = n*10 + int(c-'0')
	}
	return id[:i], n, i+1 < len(id)
}
