package store

import (
	"bytes"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/pkg/store"
)

//go:embed migrations
var migrations embed.FS

// ErrNotFound is returned for a row the tenant does not have.
var ErrNotFound = fmt.Errorf("ingestion store: %w", grpcerr.ErrNotFound)

// ErrExists is returned when creating something that exists.
var ErrExists = fmt.Errorf("ingestion store: %w", grpcerr.ErrAlreadyExists)

// ErrStale means a job's vectors were computed with an embedding model the
// collection no longer has (or a re-embed missed chunks committed
// meanwhile): the job must run again.
var ErrStale = errors.New("ingestion store: collection changed while the job ran")

// ErrBusy means the collection already has an unfinished re-embed job.
var ErrBusy = fmt.Errorf("ingestion store: a re-embed job of this collection is unfinished: %w", grpcerr.ErrFailedPrecondition)

// Document states (the proto's numbering).
const (
	DocProcessing = 1
	DocReady      = 2
	DocFailed     = 3
)

// Job states (the proto's numbering).
const (
	JobQueued    = 1
	JobRunning   = 2
	JobSucceeded = 3
	JobFailed    = 4
)

// WrappedKey is a tenant's data key as keyvault wrapped it.
type WrappedKey struct {
	Blob     []byte
	KMSKeyID string
}

// Collection row.
type Collection struct {
	Tenant, Name, Description string
	Documents                 int64
	CreatedAt                 time.Time
	// EmbeddingModel is the model of the collection's vectors
	// ("rampart-hash-embed" or an inference registry model), EmbeddingDims
	// its dimensions (0: the hash embedder's default).
	EmbeddingModel string
	EmbeddingDims  int
	// Generation identifies the collection's current chunks (see
	// Generation); search indexes built from them remember it.
	Generation Generation
}

// HashEmbedModel is the local feature-hashing embedder's model id as
// clients name it, and the stored id of Version 1 hash vectors (what every
// collection recorded before the embedder had versions).
const HashEmbedModel = "rampart-hash-embed"

// HashModelID is the stored model id of hash vectors of algorithm version
// v: HashEmbedModel for 1, "rampart-hash-embed@v" after. A new version is
// a new id, so jobs that embedded with the old one fail the Complete check
// (ErrStale) like after any model switch, and a collection of old vectors
// is recognised and re-embedded.
func HashModelID(v int) string {
	if v <= 1 {
		return HashEmbedModel
	}
	return HashEmbedModel + "@" + strconv.Itoa(v)
}

// HashVersion is the hash algorithm version of a stored model id (0: not
// the hash embedder).
func HashVersion(model string) int {
	switch {
	case model == "" || model == HashEmbedModel:
		return 1
	case strings.HasPrefix(model, HashEmbedModel+"@"):
		v, err := strconv.Atoi(model[len(HashEmbedModel)+1:])
		if err != nil || v < 2 {
			return 0
		}
		return v
	}
	return 0
}

// PublicModel is the model id clients see for a stored one: the hash
// embedder's version is internal (a pending upgrade shows as a re-embed
// job, not as another model).
func PublicModel(model string) string {
	if HashVersion(model) > 0 {
		return HashEmbedModel
	}
	return model
}

// Document row. Source is sealed.
type Document struct {
	Tenant, ID, Collection string
	ContentMAC, Source     []byte
	ContentType            string
	SizeBytes              int64
	Chunks                 int
	State                  int
	CreatedAt              time.Time
	// ConnectionID is the data source it was fetched through, if any.
	ConnectionID string
	// ModifiedAt is when the source says the document was last modified
	// (a fetched URL's Last-Modified; zero: not known), set on insert.
	ModifiedAt time.Time
	// SourceMAC is the keyed MAC of the document's identity in its
	// collection (empty: none; nil when read: not derived yet, a document
	// from before migration 00009). Documents of one identity are versions
	// of one source: the newest replaces the others when its job commits.
	SourceMAC []byte
	// HasText: the document's extracted text is stored (DocumentText; on
	// read only). Without it (ingested before migration 00012) its chunks
	// may lack locations and adding its content again re-chunks it.
	HasText bool
	// Chunker is the version of the chunker that cut the document's chunks
	// (migration 00015: 1 for documents from before; ADR 0127).
	Chunker int
}

// DocMeta is what a document's job stores on the document when it
// commits, sealed: its title (nil: none) and its extracted text, the text
// its chunks' locations index (docs/adr/0094).
type DocMeta struct {
	Title, Text []byte
	// Outline is the sealed extract.Outline of a document whose text is
	// not its file (HTML, PDF, DOCX; nil for the others): with it the
	// document is re-chunked from storage (ADR 0133).
	Outline []byte
	// Chunker is the version of the chunker that cut the chunks (0: 1).
	Chunker int
}

// Job row. Payload (sealed content) is only read by PendingPayload.
type Job struct {
	Tenant, ID, DocumentID, Collection string
	State, Done, Total                 int
	Error                              string
	// Attempts counts the runs that ended waiting for an unavailable
	// embedding model (FailRetryable), across replicas.
	Attempts             int
	CreatedAt, UpdatedAt time.Time
	// Kind is KindIngest, KindReembed or KindCrawl (rows from before
	// migration 00008 are typed by whether they have a document).
	Kind string
	// ParentID is the crawl job of a page's ingest job.
	ParentID string
	// Crawl jobs: pages fetched, the page limit, what the crawl did, and
	// the page jobs unfinished / failed (counted on read).
	PagesDone, PagesMax       int
	Detail                    string
	ChildPending, ChildFailed int
	// Retrying: the last run failed (FailRetryable) and the job keeps its
	// payload to run again; State is JobFailed but the job has not ended.
	Retrying bool
}

// Job kinds.
const (
	KindIngest  = "ingest"
	KindReembed = "reembed"
	KindCrawl   = "crawl"
	// KindReindex re-chunks a ready document from its content given
	// again (docs/adr/0094): its chunks stay searchable until the job
	// commits, and a failure leaves the document as it was.
	KindReindex = "reindex"
	// KindRechunk re-chunks a ready document chunked by an older chunker
	// from its stored text (ADR 0127); queued by EnqueueRechunks, it keeps
	// the document as it was on failure, like KindReindex.
	KindRechunk = "rechunk"
)

// KeepsDocument reports whether a job of kind works on a ready document
// that must stay as it was when the job fails (reindex, rechunk).
func KeepsDocument(kind string) bool { return kind == KindReindex || kind == KindRechunk }

// Chunk row; Text, Vector, Heading and Location (nil: none) are sealed.
type Chunk struct {
	DocumentID            string
	Seq                   int
	Text, Vector, Heading []byte
	// Location is where the chunk's sentences are in the document
	// (docs/adr/0085).
	Location []byte
}

// Store is the ingestion database: an embedded SQLite file or PostgreSQL
// shared by several replicas. Queries are written with "?" placeholders and
// rebound for the dialect.
type Store struct {
	raw *sql.DB
	db  store.Rebound
	d   store.Dialect
	now func() time.Time
}

// sqlitePageSize is the page size of a new SQLite database. A document's
// commit writes its chunks (1–2 KB of sealed text and a 3 KB sealed vector
// each) and its job row carries the sealed upload: at SQLite's 4 KiB most
// rows spilled into overflow pages and a commit wrote hundreds of WAL
// frames, a pwrite each (half of the store's CPU). 32 KiB:
// BenchmarkDocumentJob 8.8–11.1 → 6.2–7.0 ms of CPU per document (16 KiB
// 7.6–8.3, 64 KiB 6.8–7.6). Existing databases keep their page size.
const sqlitePageSize = 32 << 10

// Open opens (creating) the SQLite database at path and migrates it.
func Open(ctx context.Context, path string) (*Store, error) {
	sub, err := store.MigrationsFor(migrations, store.SQLite)
	if err != nil {
		return nil, err
	}
	db, err := store.OpenSQLiteWith(ctx, path, sub, store.SQLiteOptions{PageSize: sqlitePageSize})
	if err != nil {
		return nil, fmt.Errorf("ingestion store: %w", err)
	}
	return newStore(db, store.SQLite), nil
}

// OpenPostgres connects to the PostgreSQL database at url with a bounded
// pool and statement timeouts and migrates it (under goose's advisory lock,
// so replicas starting together do not race; a database migrated beyond
// this binary is refused). Errors never include the URL.
func OpenPostgres(ctx context.Context, url string, pool store.PoolOptions) (*Store, error) {
	sub, err := store.MigrationsFor(migrations, store.Postgres)
	if err != nil {
		return nil, err
	}
	db, err := store.OpenPostgresPool(ctx, url, sub, pool)
	if err != nil {
		return nil, fmt.Errorf("ingestion store: %w", err)
	}
	return newStore(db, store.Postgres), nil
}

func newStore(db *sql.DB, d store.Dialect) *Store {
	return &Store{raw: db, db: store.Rebound{Q: db, D: d}, d: d, now: time.Now}
}

// Dialect reports which database the store runs on.
func (s *Store) Dialect() store.Dialect { return s.d }

// Ping checks the database connection (readiness).
func (s *Store) Ping(ctx context.Context) error { return s.raw.PingContext(ctx) }

// SetClock replaces the store's clock (tests of lease expiry).
func (s *Store) SetClock(now func() time.Time) { s.now = now }

// Close closes the database.
func (s *Store) Close() error { return s.raw.Close() }

func ns(t time.Time) int64 { return t.UnixNano() }
func at(n int64) time.Time { return time.Unix(0, n).UTC() }

// TenantKey returns the tenant's wrapped data key.
func (s *Store) TenantKey(ctx context.Context, tenant string) (WrappedKey, error) {
	var k WrappedKey
	err := s.db.QueryRowContext(ctx, `SELECT wrapped, kms_key_id FROM tenant_keys WHERE tenant = ?`, tenant).Scan(&k.Blob, &k.KMSKeyID)
	if errors.Is(err, sql.ErrNoRows) {
		return k, ErrNotFound
	}
	return k, err
}

// PutTenantKey stores k unless the tenant has a key already, and returns
// the stored one (the first writer wins).
func (s *Store) PutTenantKey(ctx context.Context, tenant string, k WrappedKey) (WrappedKey, error) {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO tenant_keys (tenant, wrapped, kms_key_id, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (tenant) DO NOTHING`,
		tenant, k.Blob, k.KMSKeyID, ns(s.now())); err != nil {
		return WrappedKey{}, err
	}
	return s.TenantKey(ctx, tenant)
}

// CreateCollection inserts c.
func (s *Store) CreateCollection(ctx context.Context, c Collection) (Collection, error) {
	c.CreatedAt = s.now().UTC()
	if c.EmbeddingModel == "" {
		c.EmbeddingModel = HashEmbedModel
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO collections (tenant, name, description, created_at, embedding_model, embedding_dims) VALUES (?, ?, ?, ?, ?, ?)`,
		c.Tenant, c.Name, c.Description, ns(c.CreatedAt), c.EmbeddingModel, c.EmbeddingDims)
	if store.IsUniqueViolation(err) {
		return c, ErrExists
	}
	return c, err
}

// GetCollection returns one collection.
func (s *Store) GetCollection(ctx context.Context, tenant, name string) (Collection, error) {
	cs, err := s.collections(ctx, tenant, name)
	if err != nil {
		return Collection{}, err
	}
	if len(cs) == 0 {
		return Collection{}, ErrNotFound
	}
	return cs[0], nil
}

// ListCollections returns the tenant's collections by name.
func (s *Store) ListCollections(ctx context.Context, tenant string) ([]Collection, error) {
	return s.collections(ctx, tenant, "")
}

// collections lists the tenant's collections, or the one named name.
func (s *Store) collections(ctx context.Context, tenant, name string) ([]Collection, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT c.tenant, c.name, c.description, c.created_at, c.embedding_model, c.embedding_dims, c.generation,
		(SELECT COUNT(*) FROM documents d WHERE d.tenant = c.tenant AND d.collection = c.name)
		FROM collections c WHERE c.tenant = ? AND (? = '' OR c.name = ?) ORDER BY c.name`, tenant, name, name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Collection
	for rows.Next() {
		var c Collection
		var t int64
		if err := rows.Scan(&c.Tenant, &c.Name, &c.Description, &t, &c.EmbeddingModel, &c.EmbeddingDims, &c.Generation.N, &c.Documents); err != nil {
			return nil, err
		}
		c.CreatedAt = at(t)
		c.Generation.Epoch = t
		out = append(out, c)
	}
	return out, rows.Err()
}

// DeleteCollection deletes a collection and (by cascade) its documents,
// chunks and jobs.
func (s *Store) DeleteCollection(ctx context.Context, tenant, name string) error {
	r, err := s.db.ExecContext(ctx, `DELETE FROM collections WHERE tenant = ? AND name = ?`, tenant, name)
	if err != nil {
		return err
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// AddDocument inserts doc and its queued job carrying the sealed payload in
// one transaction. When the collection already has a document with the
// same content MAC that did not fail, nothing is written and the existing
// document and its latest job are returned with dedup true (a failed one is
// replaced). A doc with a SourceMAC is a new version of that source:
// unfinished versions of the source other than the one returned are
// deleted with their jobs (the newest content wins; a running job of one
// finds its rows gone at commit), and the finished ones stay searchable
// until this version's job commits (Complete replaces them). See
// addExisting for a document ingested before its text was stored.
func (s *Store) AddDocument(ctx context.Context, doc Document, job Job, payload []byte) (Document, Job, bool, error) {
	tx, q, err := s.beginTx(ctx)
	if err != nil {
		return Document{}, Job{}, false, err
	}
	defer func() { _ = tx.Rollback() }()
	var exists int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM collections WHERE tenant = ? AND name = ?`, doc.Tenant, doc.Collection).Scan(&exists); err != nil {
		return Document{}, Job{}, false, err
	}
	if exists == 0 {
		return Document{}, Job{}, false, ErrNotFound
	}
	old, err := scanDoc(q.QueryRowContext(ctx, docSelect+` WHERE tenant = ? AND collection = ? AND content_mac = ?`, doc.Tenant, doc.Collection, doc.ContentMAC))
	switch {
	case err == nil && old.State != DocFailed:
		return s.addExisting(ctx, tx, q, old, doc, job, payload)
	case err == nil:
		if _, err := q.ExecContext(ctx, `DELETE FROM jobs WHERE tenant = ? AND document_id = ?`, doc.Tenant, old.ID); err != nil {
			return Document{}, Job{}, false, err
		}
		if _, err := q.ExecContext(ctx, `DELETE FROM documents WHERE tenant = ? AND id = ?`, doc.Tenant, old.ID); err != nil {
			return Document{}, Job{}, false, err
		}
	case !errors.Is(err, ErrNotFound):
		return Document{}, Job{}, false, err
	}
	if len(doc.SourceMAC) > 0 {
		if err := s.dropPendingVersions(ctx, q, doc, ""); err != nil {
			return Document{}, Job{}, false, err
		}
	}
	now := s.now().UTC()
	doc.CreatedAt, doc.State = now, DocProcessing
	job.CreatedAt, job.UpdatedAt, job.State = now, now, JobQueued
	job.Tenant, job.DocumentID, job.Collection, job.Kind = doc.Tenant, doc.ID, doc.Collection, KindIngest
	var modified any
	if !doc.ModifiedAt.IsZero() {
		modified = ns(doc.ModifiedAt)
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO documents (tenant, id, collection, content_mac, source, content_type, size_bytes, state, created_at, connection_id, modified_at, source_mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		doc.Tenant, doc.ID, doc.Collection, doc.ContentMAC, doc.Source, doc.ContentType, doc.SizeBytes, doc.State, ns(now), doc.ConnectionID, modified, doc.SourceMAC); err != nil {
		return Document{}, Job{}, false, err
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO jobs (tenant, id, document_id, collection, state, payload, created_at, updated_at, kind, parent_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		job.Tenant, job.ID, job.DocumentID, job.Collection, job.State, payload, ns(now), ns(now), job.Kind, job.ParentID); err != nil {
		return Document{}, Job{}, false, err
	}
	return doc, job, false, tx.Commit()
}

// addExisting is AddDocument for content the collection has (old, not
// failed): the latest job of old with dedup true, except that a ready
// document without its extracted text (ingested before migration 00012)
// or cut by an older chunker than doc.Chunker gets a reindex job carrying
// payload, unless one is unfinished (docs/adr/0094, 0127); its chunks stay
// until that job commits.
func (s *Store) addExisting(ctx context.Context, tx *sql.Tx, q store.Rebound, old, doc Document, job Job, payload []byte) (Document, Job, bool, error) {
	j, err := scanJob(q.QueryRowContext(ctx, jobSelect+` WHERE tenant = ? AND document_id = ? ORDER BY created_at DESC LIMIT 1`, doc.Tenant, old.ID))
	if err != nil {
		return Document{}, Job{}, false, err
	}
	wrote := false
	if len(doc.SourceMAC) > 0 && bytes.Equal(old.SourceMAC, doc.SourceMAC) {
		// the source is back to content it has: a version queued since
		// is stale
		if err := s.dropPendingVersions(ctx, q, doc, old.ID); err != nil {
			return Document{}, Job{}, false, err
		}
		wrote = true
	}
	dedup := true
	unfinished := j.State == JobQueued || j.State == JobRunning || j.Retrying
	// doc.Chunker is the version the caller's chunker cuts (0: not said):
	// a document cut by an older one is re-chunked too (ADR 0127).
	if old.State == DocReady && (!old.HasText || old.Chunker < doc.Chunker) && !unfinished {
		now := s.now().UTC()
		job.CreatedAt, job.UpdatedAt, job.State = now, now, JobQueued
		job.Tenant, job.DocumentID, job.Collection, job.Kind = old.Tenant, old.ID, old.Collection, KindReindex
		if _, err := q.ExecContext(ctx, `INSERT INTO jobs (tenant, id, document_id, collection, state, payload, created_at, updated_at, kind, parent_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			job.Tenant, job.ID, job.DocumentID, job.Collection, job.State, payload, ns(now), ns(now), job.Kind, job.ParentID); err != nil {
			return Document{}, Job{}, false, err
		}
		j, dedup, wrote = job, false, true
	}
	if wrote {
		if err := tx.Commit(); err != nil {
			return Document{}, Job{}, false, err
		}
	}
	return old, j, dedup, nil
}

// DocumentText returns a document and its sealed extracted text (nil: not
// stored, see Document.HasText).
func (s *Store) DocumentText(ctx context.Context, tenant, id string) (Document, []byte, error) {
	d, err := s.GetDocument(ctx, tenant, id)
	if err != nil || !d.HasText {
		return d, nil, err
	}
	var text []byte
	err = s.db.QueryRowContext(ctx, `SELECT text FROM documents WHERE tenant = ? AND id = ?`, tenant, id).Scan(&text)
	if errors.Is(err, sql.ErrNoRows) {
		return d, nil, ErrNotFound
	}
	return d, text, err
}

// DocumentOutline returns a document's sealed outline (nil: none stored;
// see DocMeta.Outline).
func (s *Store) DocumentOutline(ctx context.Context, tenant, id string) ([]byte, error) {
	var outline []byte
	err := s.db.QueryRowContext(ctx, `SELECT outline FROM documents WHERE tenant = ? AND id = ?`, tenant, id).Scan(&outline)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return outline, err
}

// UnkeyedDocuments lists the documents of a collection whose source
// identity has not been derived yet (from before migration 00009).
func (s *Store) UnkeyedDocuments(ctx context.Context, tenant, collection string) ([]Document, error) {
	rows, err := s.db.QueryContext(ctx, docSelect+` WHERE tenant = ? AND collection = ? AND source_mac IS NULL`, tenant, collection)
	if err != nil {
		return nil, err
	}
	return store.CollectRows(rows, scanDoc)
}

// SetSourceMAC records a document's derived source identity (empty: none)
// unless it has one already.
func (s *Store) SetSourceMAC(ctx context.Context, tenant, id string, mac []byte) error {
	if mac == nil {
		mac = []byte{}
	}
	_, err := s.db.ExecContext(ctx, `UPDATE documents SET source_mac = ? WHERE tenant = ? AND id = ? AND source_mac IS NULL`, mac, tenant, id)
	return err
}

// dropPendingVersions deletes the unfinished versions of doc's source
// (other than keep) with their jobs: they have no chunks yet.
func (s *Store) dropPendingVersions(ctx context.Context, q store.Rebound, doc Document, keep string) error {
	const pending = ` WHERE tenant = ? AND collection = ? AND source_mac = ? AND id != ? AND state = ?`
	if _, err := q.ExecContext(ctx, `DELETE FROM jobs WHERE tenant = ? AND document_id IN (SELECT id FROM documents`+pending+`)`,
		doc.Tenant, doc.Tenant, doc.Collection, doc.SourceMAC, keep, DocProcessing); err != nil {
		return err
	}
	_, err := q.ExecContext(ctx, `DELETE FROM documents`+pending, doc.Tenant, doc.Collection, doc.SourceMAC, keep, DocProcessing)
	return err
}

const docSelect = `SELECT tenant, id, collection, content_mac, source, content_type, size_bytes, chunk_count, state, created_at, connection_id, source_mac, text IS NOT NULL, chunker FROM documents`

// scanner is pkg/store's, so scan functions fit store.CollectRows.
type scanner = store.Scanner

func scanDoc(r scanner) (Document, error) {
	var d Document
	var t int64
	err := r.Scan(&d.Tenant, &d.ID, &d.Collection, &d.ContentMAC, &d.Source, &d.ContentType, &d.SizeBytes, &d.Chunks, &d.State, &t, &d.ConnectionID, &d.SourceMAC, &d.HasText, &d.Chunker)
	if errors.Is(err, sql.ErrNoRows) {
		return d, ErrNotFound
	}
	d.CreatedAt = at(t)
	return d, err
}

// GetDocument returns one document.
func (s *Store) GetDocument(ctx context.Context, tenant, id string) (Document, error) {
	return scanDoc(s.db.QueryRowContext(ctx, docSelect+` WHERE tenant = ? AND id = ?`, tenant, id))
}

// ListDocuments returns a collection's documents, newest first.
func (s *Store) ListDocuments(ctx context.Context, tenant, collection string) ([]Document, error) {
	rows, err := s.db.QueryContext(ctx, docSelect+` WHERE tenant = ? AND collection = ? ORDER BY created_at DESC, id`, tenant, collection)
	if err != nil {
		return nil, err
	}
	return store.CollectRows(rows, scanDoc)
}

// DeleteDocument deletes a document with its chunks and jobs and returns
// it with its collection's new generation (the caller removes its chunks
// from the index).
func (s *Store) DeleteDocument(ctx context.Context, tenant, id string) (Document, Generation, error) {
	tx, q, err := s.beginTx(ctx)
	if err != nil {
		return Document{}, Generation{}, err
	}
	defer func() { _ = tx.Rollback() }()
	d, err := scanDoc(q.QueryRowContext(ctx, docSelect+` WHERE tenant = ? AND id = ?`+s.forUpdate(), tenant, id))
	if err != nil {
		return Document{}, Generation{}, err
	}
	g, _, err := bump(ctx, q, tenant, d.Collection)
	if err != nil {
		return Document{}, Generation{}, err
	}
	if _, err := q.ExecContext(ctx, `DELETE FROM jobs WHERE tenant = ? AND document_id = ?`, tenant, id); err != nil {
		return Document{}, Generation{}, err
	}
	if _, err := q.ExecContext(ctx, `DELETE FROM documents WHERE tenant = ? AND id = ?`, tenant, id); err != nil {
		return Document{}, Generation{}, err
	}
	return d, g, tx.Commit()
}

// jobSelect reads jobs with their kind (typed for rows older than
// migration 00008) and, for crawl jobs, the counts of their page jobs that
// are unfinished (they keep their payload, also while a retry waits) and
// that failed for good.
const jobSelect = `SELECT tenant, id, document_id, collection, state, chunks_done, chunks_total, error, attempts, created_at, updated_at,
	CASE WHEN kind != '' THEN kind WHEN document_id != '' THEN 'ingest' ELSE 'reembed' END,
	parent_id, pages_done, pages_max, detail,
	CASE WHEN kind = 'crawl' THEN (SELECT COUNT(*) FROM jobs c WHERE c.tenant = jobs.tenant AND c.parent_id = jobs.id AND c.payload IS NOT NULL) ELSE 0 END,
	CASE WHEN kind = 'crawl' THEN (SELECT COUNT(*) FROM jobs c WHERE c.tenant = jobs.tenant AND c.parent_id = jobs.id AND c.payload IS NULL AND c.state = 4) ELSE 0 END,
	CASE WHEN payload IS NOT NULL AND state = 4 THEN 1 ELSE 0 END
	FROM jobs`

func scanJob(r scanner) (Job, error) {
	var j Job
	var c, u, retrying int64
	err := r.Scan(&j.Tenant, &j.ID, &j.DocumentID, &j.Collection, &j.State, &j.Done, &j.Total, &j.Error, &j.Attempts, &c, &u,
		&j.Kind, &j.ParentID, &j.PagesDone, &j.PagesMax, &j.Detail, &j.ChildPending, &j.ChildFailed, &retrying)
	if errors.Is(err, sql.ErrNoRows) {
		return j, ErrNotFound
	}
	j.Retrying = retrying == 1
	j.CreatedAt, j.UpdatedAt = at(c), at(u)
	return j, err
}

// GetJob returns one job.
func (s *Store) GetJob(ctx context.Context, tenant, id string) (Job, error) {
	return scanJob(s.db.QueryRowContext(ctx, jobSelect+` WHERE tenant = ? AND id = ?`, tenant, id))
}

// ListJobs returns the tenant's jobs (of one collection when given), newest
// first.
func (s *Store) ListJobs(ctx context.Context, tenant, collection string, limit int) ([]Job, error) {
	q, args := jobSelect+` WHERE tenant = ?`, []any{tenant}
	if collection != "" {
		q += ` AND collection = ?`
		args = append(args, collection)
	}
	q += ` ORDER BY created_at DESC, id LIMIT ?`
	args = append(args, limit)
	return s.jobs(ctx, q, args...)
}

func (s *Store) jobs(ctx context.Context, q string, args ...any) ([]Job, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return store.CollectRows(rows, scanJob)
}

// Payload returns an unfinished job's sealed content.
func (s *Store) Payload(ctx context.Context, tenant, id string) ([]byte, error) {
	var p []byte
	err := s.db.QueryRowContext(ctx, `SELECT payload FROM jobs WHERE tenant = ? AND id = ? AND payload IS NOT NULL`, tenant, id).Scan(&p)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return p, err
}

// CreateReembedJob queues a collection's re-embed job (no document; the
// sealed target model is the payload). ErrBusy when one is unfinished.
func (s *Store) CreateReembedJob(ctx context.Context, tenant, collection, jobID string, payload []byte) (Job, error) {
	tx, q, err := s.beginTx(ctx)
	if err != nil {
		return Job{}, err
	}
	defer func() { _ = tx.Rollback() }()
	var n int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs WHERE tenant = ? AND collection = ? AND document_id = '' AND kind IN ('', 'reembed') AND (state IN (?, ?) OR payload IS NOT NULL)`,
		tenant, collection, JobQueued, JobRunning).Scan(&n); err != nil {
		return Job{}, err
	}
	if n > 0 {
		return Job{}, ErrBusy
	}
	now := s.now()
	j := Job{Tenant: tenant, ID: jobID, Collection: collection, State: JobQueued, CreatedAt: now, UpdatedAt: now, Kind: KindReembed}
	if _, err := q.ExecContext(ctx, `INSERT INTO jobs (tenant, id, document_id, collection, state, payload, created_at, updated_at, kind) VALUES (?, ?, '', ?, ?, ?, ?, ?, 'reembed')`,
		tenant, jobID, collection, JobQueued, payload, ns(now), ns(now)); err != nil {
		return Job{}, err
	}
	return j, tx.Commit()
}

// ReembedChunk is a chunk's sealed text and its document's sealed title.
type ReembedChunk struct {
	DocumentID  string
	Seq         int
	Text, Title []byte
}

// CollectionChunks returns every chunk of a collection for re-embedding.
func (s *Store) CollectionChunks(ctx context.Context, tenant, collection string) ([]ReembedChunk, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT c.document_id, c.seq, c.text, d.title FROM chunks c
		JOIN documents d ON d.tenant = c.tenant AND d.id = c.document_id
		WHERE c.tenant = ? AND c.collection = ? ORDER BY c.document_id, c.seq`, tenant, collection)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ReembedChunk
	for rows.Next() {
		var c ReembedChunk
		if err := rows.Scan(&c.DocumentID, &c.Seq, &c.Text, &c.Title); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// StoredChunk is a chunk with its ids, as search reads it.
type StoredChunk struct {
	DocumentID string
	Seq        int
	Text       []byte // sealed
	Vector     []byte // sealed
	Source     []byte // sealed, the document's
	Title      []byte // sealed, the document's (nil: none)
	Heading    []byte // sealed (nil: none)
	Location   []byte // sealed (nil: none, or ingested before locations)
	// DocumentCreatedAt is when the document says it was last modified
	// (SetModified) or else when this version of it was ingested.
	DocumentCreatedAt time.Time
}

// Vectors streams a collection's sealed vectors to fn.
func (s *Store) Vectors(ctx context.Context, tenant, collection string, fn func(docID string, seq int, sealed []byte) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT document_id, seq, vector FROM chunks WHERE tenant = ? AND collection = ?`, tenant, collection)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var doc string
		var seq int
		var v []byte
		if err := rows.Scan(&doc, &seq, &v); err != nil {
			return err
		}
		if err := fn(doc, seq, v); err != nil {
			return err
		}
	}
	return rows.Err()
}

// ChunkRef names a chunk.
type ChunkRef struct {
	DocumentID string
	Seq        int
}

// Chunks returns the named chunks of a collection that still exist (with
// their document's sealed source), in the order of refs (missing ones are
// skipped). Each is a primary-key lookup.
func (s *Store) Chunks(ctx context.Context, tenant, collection string, refs []ChunkRef) ([]StoredChunk, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	conn, err := s.raw.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	st, err := conn.PrepareContext(ctx, s.d.Rebind(`SELECT c.text, c.heading, c.location, d.source, d.title, COALESCE(d.modified_at, d.created_at) FROM chunks c JOIN documents d ON d.tenant = c.tenant AND d.id = c.document_id
		WHERE c.tenant = ? AND c.document_id = ? AND c.seq = ? AND c.collection = ?`))
	if err != nil {
		return nil, err
	}
	defer st.Close()
	out := make([]StoredChunk, 0, len(refs))
	for _, r := range refs {
		c := StoredChunk{DocumentID: r.DocumentID, Seq: r.Seq}
		var created int64
		err := st.QueryRowContext(ctx, tenant, r.DocumentID, r.Seq, collection).Scan(&c.Text, &c.Heading, &c.Location, &c.Source, &c.Title, &created)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, err
		}
		c.DocumentCreatedAt = at(created)
		out = append(out, c)
	}
	return out, nil
}

// SetModified records when a document says it was last modified.
func (s *Store) SetModified(ctx context.Context, tenant, docID string, t time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE documents SET modified_at = ? WHERE tenant = ? AND id = ?`, ns(t), tenant, docID)
	return err
}

// DeleteTenant removes everything of a tenant (purge).
func (s *Store) DeleteTenant(ctx context.Context, tenant string) error {
	tx, q, err := s.beginTx(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	for _, stmt := range []string{`DELETE FROM collections WHERE tenant = ?`, `DELETE FROM connections WHERE tenant = ?`, `DELETE FROM tenant_keys WHERE tenant = ?`} {
		if _, err := q.ExecContext(ctx, stmt, tenant); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Tenants lists the tenants that have collections.
func (s *Store) Tenants(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT tenant FROM collections`)
	if err != nil {
		return nil, err
	}
	return store.CollectRows(rows, store.ScanColumn[string])
}

// Cursor returns a saved stream position (0 when none).
func (s *Store) Cursor(ctx context.Context, name string) (int64, error) {
	var c int64
	err := s.db.QueryRowContext(ctx, `SELECT cursor FROM stream_cursors WHERE name = ?`, name).Scan(&c)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return c, err
}

// SetCursor saves a stream position.
func (s *Store) SetCursor(ctx context.Context, name string, cursor int64) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO stream_cursors (name, cursor) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET cursor = excluded.cursor`, name, cursor)
	return err
}
