package ingest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/services/ingestion/internal/chunk"
	"github.com/rampart-platform/rampart/services/ingestion/internal/embed"
	"github.com/rampart-platform/rampart/services/ingestion/internal/extract"
	"github.com/rampart-platform/rampart/services/ingestion/internal/fetch"
	"github.com/rampart-platform/rampart/services/ingestion/internal/index"
	"github.com/rampart-platform/rampart/services/ingestion/internal/keyring"
	"github.com/rampart-platform/rampart/services/ingestion/internal/store"
)

// MaxContentBytes bounds one document.
const MaxContentBytes = 10 << 20

// Sealed value kinds (part of the AAD).
const (
	kindPayload = "payload"
	kindSource  = "source"
	kindTitle   = "title"   // a document's title (AAD id: document id)
	kindHeading = "heading" // a chunk's heading path (AAD id: chunk id)
	kindText    = "text"
	kindVector  = "vector"
	// kindExtracted seals a document's extracted text (AAD id: document
	// id; docs/adr/0094).
	kindExtracted = "extracted"
	// kindOutline seals the outline of an HTML, PDF or DOCX document's
	// extracted text (AAD id: document id; ADR 0133).
	kindOutline = "outline"
)

var collectionName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// Options wire a Service.
type Options struct {
	Store    *store.Store
	Ring     *keyring.Ring
	Lexical  *index.Lexical
	Vectors  *index.Vectors
	Embedder embed.Embedder
	Fetcher  *fetch.Fetcher
	Chunk    chunk.Options
	// VectorWeight overrides the weight of the current hash embedder's
	// vector ranking in the fusion (BM25's is 1); 0 takes
	// embed.HashFusion's.
	VectorWeight float64
	// TableWeight multiplies the score of a passage of Markdown table
	// rows in the final ranking; 0 takes the package's TableWeight, 1
	// ranks tables as any passage.
	TableWeight float64
	// Rerank, when set, replaces DefaultRerank (ADR 0113); read at each
	// search.
	Rerank *Rerank
	// Workers process jobs concurrently (default 2).
	Workers int
	Log     *slog.Logger
	// Secrets keeps data-source connection secrets (keyvault); nil turns
	// connections off.
	Secrets Secrets
	// SecretEnv is the {env} of keyvault secret names (default "dev").
	SecretEnv string
	// OnJobDone, when set, is called after a job succeeds or fails (tests).
	OnJobDone func(tenant, jobID string, state int)
	// Metrics counts jobs, chunks, extraction failures and the re-chunk
	// backlog (nil: unregistered ones).
	Metrics *Metrics
	// Models embeds with inference registry models (EmbedForTenant); nil:
	// only rampart-hash-embed collections can be created.
	Models TenantEmbedder
	// RetryDelay is the first wait before a job whose embedding model was
	// unavailable runs again (default 1m, doubled per attempt up to 30m);
	// RetryAttempts bounds the runs (default 8) before the job fails for good.
	RetryDelay    time.Duration
	RetryAttempts int
	// Replica names this process in job leases (default: the host name).
	Replica string
	// JobLease is how long a claimed job is this replica's without a
	// renewal (renewed every third of it while the job runs; default 2m):
	// the job of a replica that died is retaken after at most this long.
	JobLease time.Duration
	// PollInterval is how often idle workers look for jobs queued by other
	// replicas or left by dead ones (default 2s).
	PollInterval time.Duration
	// CrawlMaxPages is the most pages a crawl may ask for (default
	// DefaultCrawlMaxPages, at most fetch.MaxCrawlPages).
	CrawlMaxPages int
	// WatchInterval is how often WatchJob looks at a job (default 250ms).
	WatchInterval time.Duration
	// MaxWatches bounds a tenant's WatchJob streams open at once on this
	// replica (default 16): each reads the database every WatchInterval.
	MaxWatches int
	// Now is the clock (fetch time of crawled pages without
	// Last-Modified); default time.Now.
	Now func() time.Time
	// Rechunk bounds the rechunk jobs (documents of an older chunker
	// re-chunked from their stored text, ADR 0127) unfinished at once for
	// the tenants whose keys this replica holds (default 1; negative: none
	// are queued); RechunkInterval is how often it looks for more besides
	// when one ends (default 30s).
	Rechunk         int
	RechunkInterval time.Duration
}

// TenantEmbedder embeds texts with a registry model for a tenant
// (embed.Remote over inference's EmbedForTenant).
type TenantEmbedder interface {
	EmbedForTenant(ctx context.Context, tenant, key, model string, limits embed.Limits, texts []string) ([][]float32, error)
}

// Service is the ingestion domain.
type Service struct {
	o   Options
	log *slog.Logger

	mu sync.Mutex
	// waiting lists the tenants with claimable jobs whose keys this
	// replica does not hold: their next call here unlocks the key.
	waiting map[string]bool
	// resumed is set once Run has listed the waiting tenants; until then
	// every call unlocks its tenant's key, so a call racing the start-up
	// scan cannot leave its jobs waiting.
	resumed atomic.Bool
	wake    chan struct{}
	// rechunked is told when a rechunk job ended: there is room for
	// another (rechunkLoop).
	rechunked chan struct{}
	// beforeCommit, when set, runs before a document job's commit (tests
	// of a failure half-way).
	beforeCommit func(jobRef) error
	// cols is the state of this replica's per-collection search indexes.
	cols freshness
	// watches counts each tenant's open WatchJob streams (under mu).
	watches map[string]int
	// upgrades marks collections whose hash re-embed was queued (or found
	// queued) by this process (upgradeHash).
	upgrades sync.Map
	// keyed marks collections whose older documents have their source
	// identity derived (keySources).
	keyed sync.Map
	// tenants: tenant → tenantView, as last seen on one of its verified
	// principals (NoteTenant).
	tenants sync.Map
	// running: tenant → job id → cancel of the jobs this replica runs
	// (under mu), so a suspension stops them (SuspendTenant).
	running map[string]map[string]context.CancelCauseFunc
}

// jobRef is a claimed job. kind is store.KindCrawl for crawls (else an
// ingest job when doc is set, a re-embed job when not); parent is the
// crawl job of a page's ingest job.
type jobRef struct {
	tenant, id, doc, collection string
	kind, parent                string
	lease                       store.Lease
	attempts                    int
}

// New returns a Service; call Run to process jobs.
func New(o Options) *Service {
	if o.Workers <= 0 {
		o.Workers = 2
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Embedder == nil {
		o.Embedder = embed.Hash{}
	}
	if o.SecretEnv == "" {
		o.SecretEnv = "dev"
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = time.Minute
	}
	if o.RetryAttempts <= 0 {
		o.RetryAttempts = 8
	}
	if o.Replica == "" {
		o.Replica, _ = os.Hostname()
	}
	if o.JobLease <= 0 {
		o.JobLease = 2 * time.Minute
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 2 * time.Second
	}
	if o.CrawlMaxPages <= 0 {
		o.CrawlMaxPages = DefaultCrawlMaxPages
	}
	o.CrawlMaxPages = min(o.CrawlMaxPages, fetch.MaxCrawlPages)
	if o.WatchInterval <= 0 {
		o.WatchInterval = 250 * time.Millisecond
	}
	if o.MaxWatches <= 0 {
		o.MaxWatches = 16
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rechunk == 0 {
		o.Rechunk = 1
	}
	if o.RechunkInterval <= 0 {
		o.RechunkInterval = 30 * time.Second
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	s := &Service{o: o, log: o.Log, waiting: map[string]bool{}, wake: make(chan struct{}, 1), rechunked: make(chan struct{}, 1), watches: map[string]int{},
		running: map[string]map[string]context.CancelCauseFunc{}}
	o.Ring.OnUnlock(s.unpark)
	// The lexical index seals its files and keys its terms with the
	// tenant's key while it is in memory (index.Lexical, ADR 0051).
	o.Lexical.UseKeys(func(tenant string) (index.Keys, bool) {
		if k, ok := o.Ring.Cached(tenant); ok {
			return k, true
		}
		return nil, false
	})
	return s
}

func newID(prefix string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// ValidCollection checks a collection name.
func ValidCollection(field, name string) error {
	if !collectionName.MatchString(name) {
		return grpcerr.Invalid(field, "must be 1-63 characters of a-z, 0-9, _ and -, starting with a letter or digit")
	}
	return nil
}

// CreateCollection creates a collection whose vectors come from model
// ("" or rampart-hash-embed: local hashing; otherwise an embedding model of
// inference's registry, probed once for the tenant to check it and learn
// its dimensions). keyLimits are the calling key's own limits (nil: none),
// which the probe is charged to as a search's query is (ADR 0111 §4).
func (s *Service) CreateCollection(ctx context.Context, tenant, key string, keyLimits *inferencev1.KeyLimits, name, description, model string) (store.Collection, error) {
	if err := ValidCollection("name", name); err != nil {
		return store.Collection{}, err
	}
	if len(description) > 1024 {
		return store.Collection{}, grpcerr.Invalid("description", "must be at most 1024 bytes")
	}
	col := store.Collection{Tenant: tenant, Name: name, Description: description, EmbeddingModel: model}
	if model == "" || store.HashVersion(model) > 0 {
		col.EmbeddingModel, col.EmbeddingDims = s.hashModel(), s.o.Embedder.Dimensions()
	} else {
		dims, err := s.probe(ctx, tenant, key, keyLimits, model)
		if err != nil {
			return store.Collection{}, err
		}
		col.EmbeddingDims = dims
	}
	c, err := s.o.Store.CreateCollection(ctx, col)
	if errors.Is(err, store.ErrExists) {
		return c, fmt.Errorf("collection %q: %w", name, grpcerr.ErrAlreadyExists)
	}
	return c, err
}

// UpdateCollection switches a collection to another embedding model: the
// model is checked like at creation and a re-embed job is queued (nil
// when the model is unchanged). The collection keeps its current model
// until the job commits. keyLimits are as for CreateCollection.
func (s *Service) UpdateCollection(ctx context.Context, tenant, key string, keyLimits *inferencev1.KeyLimits, name, model string) (store.Collection, *store.Job, error) {
	if err := ValidCollection("collection", name); err != nil {
		return store.Collection{}, nil, err
	}
	c, err := s.o.Store.GetCollection(ctx, tenant, name)
	if err != nil {
		return store.Collection{}, nil, notFound(err, collectionNamed(name))
	}
	if model == "" {
		return store.Collection{}, nil, grpcerr.Invalid("embedding_model", "is required")
	}
	switch {
	case store.HashVersion(model) > 0: // any version: the current one
		model = s.hashModel()
		if s.hashCurrent(c) {
			return c, nil, nil
		}
	case c.EmbeddingModel == model:
		return c, nil, nil
	default:
		if _, err := s.probe(ctx, tenant, key, keyLimits, model); err != nil {
			return store.Collection{}, nil, err
		}
	}
	k, err := s.o.Ring.Get(ctx, tenant, true)
	if err != nil {
		return store.Collection{}, nil, err
	}
	id := newID("job_")
	j, err := s.o.Store.CreateReembedJob(ctx, tenant, name, id, k.Seal(kindPayload, id, []byte(model)))
	if err != nil {
		return store.Collection{}, nil, err
	}
	s.enqueue(jobRef{tenant: tenant, id: j.ID, collection: name})
	return c, &j, nil
}

// probe embeds one short text with model for tenant: the model must exist
// for the tenant and be an embedding model; returns its dimensions. A
// caller's probe (keyLimits set: the key waits for it, as for a search's
// query) is charged to the key's own limits too, and a spent one is
// inference's refusal as it came (429, the limit named, Retry-After); a
// job's (nil) is charged to the tenant only (ADR 0111 §4).
func (s *Service) probe(ctx context.Context, tenant, key string, keyLimits *inferencev1.KeyLimits, model string) (int, error) {
	if len(model) > 256 {
		return 0, grpcerr.Invalid("embedding_model", "must be at most 256 bytes")
	}
	if s.o.Models == nil {
		return 0, grpcerr.Invalidf("embedding_model", "only %s is available: this ingestion has no inference service configured", store.HashEmbedModel)
	}
	vecs, err := s.o.Models.EmbedForTenant(ctx, tenant, key, model, embed.Limits{Tenant: s.jobLimits(tenant), Key: keyLimits}, []string{"rampart embedding probe"})
	var limited *embed.LimitError
	switch {
	case keyLimits != nil && errors.As(err, &limited):
		return 0, limited.Status.Err()
	case errors.Is(err, embed.ErrUnavailable):
		return 0, fmt.Errorf("%w: %s", grpcerr.ErrUnavailable, err.Error())
	case err != nil:
		// err is embed's ErrRejected naming the model and inference's gRPC
		// code again: the field's message says it once, plainly.
		return 0, grpcerr.Invalidf("embedding_model", "%s is not an embedding model this tenant may use", strconv.Quote(model))
	case len(vecs) != 1 || len(vecs[0]) == 0:
		return 0, grpcerr.Invalidf("embedding_model", "%s returned no vector", strconv.Quote(model))
	}
	return len(vecs[0]), nil
}

// ListCollections lists the tenant's collections.
func (s *Service) ListCollections(ctx context.Context, tenant string) ([]store.Collection, error) {
	return s.o.Store.ListCollections(ctx, tenant)
}

// DeleteCollection deletes a collection, its rows and its index.
func (s *Service) DeleteCollection(ctx context.Context, tenant, name string) error {
	if err := ValidCollection("collection", name); err != nil {
		return err
	}
	if err := s.o.Store.DeleteCollection(ctx, tenant, name); err != nil {
		return notFound(err, collectionNamed(name))
	}
	s.o.Vectors.Invalidate(tenant, name)
	s.cols.forget(tenant, name)
	return s.o.Lexical.DropCollection(tenant, name)
}

// urlFetchError is a failed fetch of a document's URL: FailedPrecondition
// (the request was fine, the source was not) with the fetch's own message,
// "url: fetch failed: the host name does not resolve", without the
// sentinel's "failed precondition" in the middle of it.
type urlFetchError struct{ err error }

func (e urlFetchError) Error() string   { return "url: " + e.err.Error() }
func (e urlFetchError) Unwrap() []error { return []error{e.err, grpcerr.ErrFailedPrecondition} }

// collectionNamed is what a collection's NotFound names: the caller's own
// (validated) name, so a typo is visible; another tenant's collection
// gets the same answer as a missing one.
func collectionNamed(name string) string { return fmt.Sprintf("collection %q", name) }

func notFound(err error, what string) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%s: %w", what, grpcerr.ErrNotFound)
	}
	return err
}

// Input is a document to ingest: Content or URL.
type Input struct {
	Collection  string
	Content     []byte
	URL         string
	Source      string
	ContentType string
	// Token is a short-lived bearer token for the URL fetch only. It is
	// used for that request and dropped; nothing keeps it.
	Token string
	// ConnectionID names a connected data source whose token authorizes
	// the URL fetch.
	ConnectionID string
	// By is the verified principal of the call: a connection's grant is
	// used only on behalf of its authorizer (ADR 0118).
	By Actor
}

// Document is a document's metadata with its source opened.
type Document struct {
	store.Document
	SourceName string
}

// Ingest validates in, fetches a URL (with the one-shot token) now, seals
// the content into a durable queued job and returns. The same content in
// the same collection returns the existing document (dedup).
func (s *Service) Ingest(ctx context.Context, tenant string, in Input) (Document, store.Job, bool, error) {
	if err := validInput(in); err != nil {
		return Document{}, store.Job{}, false, err
	}
	// The collection must exist before anything is fetched.
	if _, err := s.o.Store.GetCollection(ctx, tenant, in.Collection); err != nil {
		return Document{}, store.Job{}, false, notFound(err, collectionNamed(in.Collection))
	}
	content, ctype, source := in.Content, in.ContentType, in.Source
	var modified time.Time
	if in.URL != "" {
		res, u, err := s.fetchURL(ctx, tenant, in)
		in.Token = ""
		if err != nil {
			return Document{}, store.Job{}, false, err
		}
		content = res.Body
		modified = res.LastModified // zero: the citation shows the fetch (ingestion) time
		if ctype == "" {
			ctype = res.ContentType
		}
		if source == "" {
			u.RawQuery = "" // a query may carry a signature: not for citations
			source = u.String()
		}
	}
	identity := sourceIdentity(in.Source, in.URL)
	if source == "" {
		source = "upload"
	}
	ct, err := extract.Normalize(ctype, content)
	if err != nil {
		return Document{}, store.Job{}, false, grpcerr.Invalid("content_type", err.Error())
	}
	if !extract.Binary(ct) && !utf8.Valid(content) {
		return Document{}, store.Job{}, false, grpcerr.Invalid("content", "must be UTF-8 text")
	}
	key, err := s.o.Ring.Get(ctx, tenant, true)
	if err != nil {
		return Document{}, store.Job{}, false, err
	}
	doc := store.Document{
		Tenant: tenant, ID: newID("doc_"), Collection: in.Collection, ContentMAC: key.MAC(content),
		ContentType: ct, SizeBytes: int64(len(content)), ConnectionID: in.ConnectionID, ModifiedAt: modified,
		Chunker: s.o.Chunk.Version(), // an older one's document is re-chunked
	}
	doc.Source = key.Seal(kindSource, doc.ID, []byte(source))
	doc.SourceMAC = sourceMAC(key, identity)
	if err := s.keySources(ctx, key, tenant, in.Collection); err != nil {
		return Document{}, store.Job{}, false, err
	}
	job := store.Job{ID: newID("job_")}
	payload := key.Seal(kindPayload, job.ID, content)
	d, j, dedup, err := s.o.Store.AddDocument(ctx, doc, job, payload)
	if err != nil {
		return Document{}, store.Job{}, false, notFound(err, collectionNamed(in.Collection))
	}
	out, err := s.open(key, d)
	if err != nil {
		return Document{}, store.Job{}, false, err
	}
	if !dedup {
		s.enqueue(jobRef{tenant: tenant, id: j.ID, doc: d.ID, collection: d.Collection})
	}
	return out, j, dedup, nil
}

// validInput checks an ingestion's fields that need no look-up.
func validInput(in Input) error {
	if err := ValidCollection("collection", in.Collection); err != nil {
		return err
	}
	if len(in.Source) > 2048 {
		return grpcerr.Invalid("source", "must be at most 2048 bytes")
	}
	switch {
	case in.URL != "" && len(in.Content) > 0:
		return grpcerr.Invalid("content", "give content or url, not both")
	case in.URL == "" && len(in.Content) == 0:
		return grpcerr.Invalid("content", "is required (or url)")
	case in.Token != "" && in.URL == "":
		return grpcerr.Invalid("access_token", "is only used with url")
	case in.ConnectionID != "" && in.URL == "":
		return grpcerr.Invalid("connection_id", "is only used with url")
	case in.ConnectionID != "" && in.Token != "":
		return grpcerr.Invalid("access_token", "give access_token or connection_id, not both")
	case len(in.Content) > MaxContentBytes:
		return grpcerr.Invalidf("content", "must be at most %d bytes", MaxContentBytes)
	}
	return nil
}

// fetchURL fetches in.URL now, with the one-shot token or the tenant's
// connection, and maps the fetch failures to the url field.
func (s *Service) fetchURL(ctx context.Context, tenant string, in Input) (*fetch.Result, *url.URL, error) {
	u, err := fetch.Validate(in.URL)
	if err != nil {
		return nil, nil, grpcerr.Invalid("url", err.Error())
	}
	var res *fetch.Result
	if in.ConnectionID != "" {
		res, err = s.fetchWithConnection(ctx, tenant, in.By, in.ConnectionID, u)
	} else {
		res, err = s.o.Fetcher.Get(ctx, u.String(), in.Token)
	}
	switch {
	case errors.Is(err, fetch.ErrForbiddenTarget), errors.Is(err, fetch.ErrInvalidURL):
		return nil, nil, grpcerr.Invalid("url", err.Error())
	case errors.Is(err, fetch.ErrTooLarge):
		return nil, nil, grpcerr.Invalidf("url", "the document is larger than %d bytes", MaxContentBytes)
	case errors.Is(err, fetch.ErrFetch):
		return nil, nil, urlFetchError{err}
	case err != nil:
		return nil, nil, err
	}
	if len(res.Body) == 0 {
		return nil, nil, grpcerr.Invalid("url", "the document is empty")
	}
	return res, u, nil
}

// sourceIdentity is what makes two ingestions versions of one document
// in a collection: the source name the caller gave, else the canonical
// URL fetched (with its query: /list?page=2 is another page); "" for an
// upload without a name (only deduplicated by content). A new version
// replaces the previous one once its job commits (store.Complete).
func sourceIdentity(source, rawURL string) string {
	if source != "" {
		return "source:" + source
	}
	if rawURL == "" {
		return ""
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	return "url:" + fetch.Canonical(u).String()
}

// sourceMAC is the keyed MAC of a source identity (store.Document.SourceMAC):
// the database can match versions without holding the name in clear. No
// identity: empty (not nil, which marks a document not examined yet).
func sourceMAC(key *keyring.Key, identity string) []byte {
	if identity == "" {
		return []byte{}
	}
	return key.MAC([]byte("rampart-ingestion-source\x00" + identity))
}

// keySources derives the source identity of a collection's documents from
// before it was recorded (migration 00009), once per collection and
// process, so their next version replaces them too: the stored source is
// what citations show, so a URL (its query was dropped) is taken as the
// fetched URL, "upload" as no identity and anything else as a name.
func (s *Service) keySources(ctx context.Context, key *keyring.Key, tenant, collection string) error {
	mark := tenant + "\x00" + collection
	if _, ok := s.keyed.Load(mark); ok {
		return nil
	}
	docs, err := s.o.Store.UnkeyedDocuments(ctx, tenant, collection)
	if err != nil {
		return err
	}
	for _, d := range docs {
		src, err := key.Open(kindSource, d.ID, d.Source)
		if err != nil {
			return fmt.Errorf("document %s source: %w", d.ID, err)
		}
		identity := ""
		switch name := string(src); {
		case name == "upload":
		case strings.HasPrefix(name, "http://") || strings.HasPrefix(name, "https://"):
			identity = sourceIdentity("", name)
		default:
			identity = sourceIdentity(name, "")
		}
		if err := s.o.Store.SetSourceMAC(ctx, tenant, d.ID, sourceMAC(key, identity)); err != nil {
			return err
		}
	}
	s.keyed.Store(mark, true)
	return nil
}

func (s *Service) open(key *keyring.Key, d store.Document) (Document, error) {
	src, err := key.Open(kindSource, d.ID, d.Source)
	if err != nil {
		return Document{}, fmt.Errorf("document %s source: %w", d.ID, err)
	}
	return Document{Document: d, SourceName: string(src)}, nil
}

// key returns the tenant's key for reading (ErrNoKey → nothing stored).
func (s *Service) key(ctx context.Context, tenant string) (*keyring.Key, error) {
	return s.o.Ring.Get(ctx, tenant, false)
}

// GetDocument returns one document.
func (s *Service) GetDocument(ctx context.Context, tenant, id string) (Document, error) {
	if id == "" {
		return Document{}, grpcerr.Invalid("document_id", "is required")
	}
	d, err := s.o.Store.GetDocument(ctx, tenant, id)
	if err != nil {
		return Document{}, notFound(err, "document")
	}
	key, err := s.key(ctx, tenant)
	if err != nil {
		return Document{}, err
	}
	return s.open(key, d)
}

// ListDocuments lists a collection's documents.
func (s *Service) ListDocuments(ctx context.Context, tenant, collection string) ([]Document, error) {
	if err := ValidCollection("collection", collection); err != nil {
		return nil, err
	}
	if _, err := s.o.Store.GetCollection(ctx, tenant, collection); err != nil {
		return nil, notFound(err, collectionNamed(collection))
	}
	ds, err := s.o.Store.ListDocuments(ctx, tenant, collection)
	if err != nil || len(ds) == 0 {
		return nil, err
	}
	key, err := s.key(ctx, tenant)
	if err != nil {
		return nil, err
	}
	out := make([]Document, 0, len(ds))
	for _, d := range ds {
		od, err := s.open(key, d)
		if err != nil {
			return nil, err
		}
		out = append(out, od)
	}
	return out, nil
}

// DeleteDocument deletes a document's rows, then its index entries (search
// ignores index entries without rows, so a crash in between is harmless).
func (s *Service) DeleteDocument(ctx context.Context, tenant, id string) error {
	if id == "" {
		return grpcerr.Invalid("document_id", "is required")
	}
	// The collection is only known once the row is read: the change runs
	// under the lock of the collection the document was in.
	d, err := s.o.Store.GetDocument(ctx, tenant, id)
	if err != nil {
		return notFound(err, "document")
	}
	var removed []string
	return s.change(tenant, d.Collection, func() (store.Generation, error) {
		d, g, err := s.o.Store.DeleteDocument(ctx, tenant, id)
		if err != nil {
			return g, notFound(err, "document")
		}
		ids := chunkIDs(d.ID, d.Chunks)
		removed = ids
		return g, s.o.Lexical.Delete(tenant, d.Collection, ids)
	}, func() { s.o.Vectors.Remove(tenant, d.Collection, removed) })
}

// GetJob returns one job.
func (s *Service) GetJob(ctx context.Context, tenant, id string) (store.Job, error) {
	if id == "" {
		return store.Job{}, grpcerr.Invalid("job_id", "is required")
	}
	j, err := s.o.Store.GetJob(ctx, tenant, id)
	return j, notFound(err, "job")
}

// ListJobs lists jobs, newest first.
func (s *Service) ListJobs(ctx context.Context, tenant, collection string, limit int) ([]store.Job, error) {
	if collection != "" {
		if err := ValidCollection("collection", collection); err != nil {
			return nil, err
		}
	}
	switch {
	case limit < 0:
		return nil, grpcerr.Invalid("page_size", "must not be negative")
	case limit == 0:
		limit = 50
	case limit > 500:
		limit = 500
	}
	return s.o.Store.ListJobs(ctx, tenant, collection, limit)
}

// Unlock makes sure the tenant's key is in memory when the tenant has jobs
// waiting for it; servers call it on every call on a tenant's behalf.
func (s *Service) Unlock(ctx context.Context, tenant string) {
	s.mu.Lock()
	waiting := s.waiting[tenant]
	s.mu.Unlock()
	if !waiting && s.resumed.Load() {
		return
	}
	if _, err := s.o.Ring.Get(ctx, tenant, false); err != nil {
		s.log.WarnContext(ctx, "cannot unlock tenant key for queued jobs", "tenant", tenant, "err", err)
	}
}

// tenantView is what a tenant's jobs are held to: the models it may use
// (empty: all) and its tenant-wide limits, sent with each EmbedForTenant
// so that an inference replica that has seen no call of the tenant
// enforces them too (ADR 0095).
type tenantView struct {
	models []string
	limits *inferencev1.TenantJobLimits
}

// NoteTenant remembers the models a tenant may use (its principal's
// tenant_allowed_models: the platform's ceiling narrowed by its owners,
// ADR 0058) and its tenant-wide token rate and budget, for the jobs run
// for it without a key. A tenant's jobs run only while a call of the tenant
// has unlocked its key here, and every call notes its principal first, so
// a job is held to the view of the tenant's latest call.
func (s *Service) NoteTenant(tenant string, models []string, limits *inferencev1.TenantJobLimits) {
	if old, ok := s.tenants.Load(tenant); ok {
		if prev, _ := old.(tenantView); slices.Equal(prev.models, models) && proto.Equal(prev.limits, limits) {
			return
		}
	}
	s.tenants.Store(tenant, tenantView{models: slices.Clone(models), limits: proto.CloneOf(limits)})
}

// jobLimits are the tenant's limits for EmbedForTenant; nil when no call
// of the tenant was seen here, which inference refuses unless it has seen
// one itself.
func (s *Service) jobLimits(tenant string) *inferencev1.TenantJobLimits {
	v, _ := s.tenants.Load(tenant)
	view, _ := v.(tenantView)
	return view.limits
}

// tenantMayUse fails a job whose embedding model the tenant may no longer
// use: a collection keeps the model it was given, and the platform may take
// the model off the tenant's list since (ADR 0065 §3). Inference's
// EmbedForTenant checks only its registry's view of the tenant. The local
// hash embedder is no inference model and always allowed. Without a list
// seen here (which the key invariant of NoteTenant rules out) the job
// waits rather than run unchecked (ADR 0095).
func (s *Service) tenantMayUse(tenant, model string) error {
	if store.HashVersion(model) > 0 {
		return nil
	}
	v, ok := s.tenants.Load(tenant)
	if !ok {
		return fmt.Errorf("%w: `%s`: the tenant's models are not known here until its next call", embed.ErrUnavailable, model)
	}
	view, _ := v.(tenantView)
	allowed := view.models
	if len(allowed) == 0 || slices.Contains(allowed, model) {
		return nil
	}
	return &failure{fmt.Sprintf("embedding model `%s` is not among the models this tenant may use (its limits); "+
		"switch the collection to one it may use (PATCH /v1/collections/{collection} embedding_model)", model)}
}

// Purge deletes everything of a tenant: rows (with the wrapped key), the
// index directory and cached keys and vectors. The unwrapped key is
// dropped first, so nothing of the tenant opens here from the event on
// even if the deletion fails and is retried, and again after the rows are
// gone (a load that began in between; ADR 0077).
func (s *Service) Purge(ctx context.Context, tenant string) error {
	s.o.Ring.Forget(tenant)
	if err := s.o.Store.DeleteTenant(ctx, tenant); err != nil {
		return err
	}
	s.o.Ring.Forget(tenant)
	s.o.Vectors.InvalidateTenant(tenant)
	s.cols.forgetTenant(tenant)
	s.mu.Lock()
	delete(s.waiting, tenant)
	s.mu.Unlock()
	return s.o.Lexical.DropTenant(tenant)
}

func chunkID(doc string, seq int) string { return fmt.Sprintf("%s:%d", doc, seq) }

// chunkIDs are the ids of a document's n chunks.
func chunkIDs(doc string, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = chunkID(doc, i)
	}
	return ids
}
