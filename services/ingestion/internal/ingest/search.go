package ingest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/services/ingestion/internal/embed"
	"github.com/rampart-platform/rampart/services/ingestion/internal/index"
	"github.com/rampart-platform/rampart/services/ingestion/internal/keyring"
	"github.com/rampart-platform/rampart/services/ingestion/internal/store"
)

// MaxTopK bounds a search's results.
const MaxTopK = 50

// candidates is how deep each ranking goes before fusion.
func candidates(k int) int { return max(50, 4*k) }

// Passage is a search result with its citation.
type Passage struct {
	ChunkID, DocumentID, Source, Text string
	// Title is the document's title, Heading the chunk's heading path
	// ("A > B"), URL the source when it is an http(s) URL ("" otherwise).
	Title, Heading, URL string
	// UpdatedAt is when this version of the document was ingested.
	UpdatedAt time.Time
	Score     float64
	// Spans are where the passage's sentences are in the document; none
	// for a chunk ingested before locations were recorded.
	Spans []SpanLocation
}

// Mode picks the rankings a search fuses.
type Mode int

// Modes: hybrid (the default) fuses BM25 and the vector ranking; the other
// two use one ranking alone (for evaluation and for a caller that knows
// better).
const (
	ModeHybrid Mode = iota
	ModeLexical
	ModeVector
)

// Search runs the hybrid query in the tenant's collection.
func (s *Service) Search(ctx context.Context, tenant, collection, query string, topK int) ([]Passage, error) {
	return s.SearchMode(ctx, tenant, collection, query, topK, ModeHybrid)
}

// SearchMode runs the query with the rankings of mode.
func (s *Service) SearchMode(ctx context.Context, tenant, collection, query string, topK int, mode Mode) ([]Passage, error) {
	res, err := s.SearchQuery(ctx, Query{Tenant: tenant, Collection: collection, Text: query, TopK: topK, Mode: mode})
	return res.Passages, err
}

// Query is one search.
type Query struct {
	Tenant, Key, Collection, Text string
	TopK                          int
	Mode                          Mode
	// KeyLimits are the calling key's own token limits, from its verified
	// principal: the query's embedding is charged to the key too, and a
	// spent limit refuses the search (ADR 0106). Nil: an internal search
	// (evaluation), charged to the tenant only.
	KeyLimits *inferencev1.KeyLimits
}

// Result is a search's passages and, when the search was degraded, why.
type Result struct {
	Passages []Passage
	Warning  string
}

// SearchQuery runs q. When the collection's embedding model cannot be
// reached the search uses the lexical ranking alone and says so in
// Result.Warning instead of failing.
func (s *Service) SearchQuery(ctx context.Context, q Query) (Result, error) {
	tenant, collection, query, topK, mode := q.Tenant, q.Collection, q.Text, q.TopK, q.Mode
	if err := ValidCollection("collection", collection); err != nil {
		return Result{}, err
	}
	query = strings.TrimSpace(query)
	switch {
	case query == "":
		return Result{}, grpcerr.Invalid("query", "is required")
	case len(query) > 4096:
		return Result{}, grpcerr.Invalid("query", "must be at most 4096 bytes")
	case topK < 0:
		return Result{}, grpcerr.Invalid("top_k", "must not be negative")
	case topK == 0:
		topK = 5
	case topK > MaxTopK:
		return Result{}, grpcerr.Invalidf("top_k", "must be at most %d", MaxTopK)
	}
	col, err := s.o.Store.GetCollection(ctx, tenant, collection)
	if err != nil {
		return Result{}, notFound(err, collectionNamed(collection))
	}
	key, err := s.key(ctx, tenant)
	if err != nil {
		if err == keyring.ErrNoKey { //nolint:errorlint // sentinel from this module
			return Result{}, nil // nothing was ever ingested
		}
		return Result{}, err
	}
	// Another replica may have changed the collection since this one's
	// indexes were built.
	release, err := s.fresh(ctx, key, col)
	if err != nil {
		return Result{}, err
	}
	defer release()
	n := candidates(topK)
	var res Result
	var lex, vec []index.Hit
	if mode != ModeLexical {
		qv, err := s.embedTexts(ctx, tenant, q.Key, q.KeyLimits, col, []string{query})
		var limited *embed.LimitError
		switch {
		case err == nil:
			vec, err = s.o.Vectors.Search(ctx, tenant, collection, qv[0], n, func(ctx context.Context, tenant, collection string) ([]index.VectorEntry, error) {
				return s.loadVectors(ctx, key, tenant, collection)
			})
			if err != nil {
				return Result{}, err
			}
		case ctx.Err() != nil:
			return Result{}, ctx.Err()
		case q.KeyLimits != nil && errors.As(err, &limited):
			// The key's or the tenant's tokens are spent: the caller
			// gets inference's refusal (429, the limit named, Retry-After)
			// as from chat, not keyword results that hide it.
			return Result{}, limited.Status.Err()
		default:
			// The model is down or refused the query: answer from the
			// lexical ranking rather than fail the search.
			s.log.WarnContext(ctx, "query embedding failed; lexical search only", "tenant", tenant, "model", col.EmbeddingModel, "err", err)
			res.Warning = fmt.Sprintf("The embedding model `%s` is unavailable right now; these results come from keyword search only.", col.EmbeddingModel)
			mode = ModeLexical
		}
	}
	if mode != ModeVector {
		if lex, err = s.o.Lexical.Search(tenant, collection, query, n); err != nil {
			return Result{}, err
		}
	}
	fused := s.fuse(col, n, lex, vec)
	res.Passages, err = s.passages(ctx, key, q, fused, topK)
	// After this search (whose query was embedded like the vectors it
	// loaded): queue the re-embed of outdated hash vectors.
	s.upgradeHash(ctx, key, col)
	return res, err
}

// fuse merges the BM25 and vector rankings the way the collection's
// embedder calls for (embed.Fusion).
func (s *Service) fuse(col store.Collection, n int, lex, vec []index.Hit) []index.Hit {
	f := embed.ModelFusion
	if v := store.HashVersion(col.EmbeddingModel); v > 0 {
		f = embed.HashFusion(v)
		if s.o.VectorWeight > 0 && s.hashCurrent(col) {
			f.Weight = s.o.VectorWeight
		}
	}
	lr, vr := index.Ranking{Hits: lex, Weight: 1}, index.Ranking{Hits: vec, Weight: f.Weight}
	if f.Scores {
		return index.FuseScores(n, lr, vr)
	}
	return index.FuseWeighted(n, lr, vr)
}

func (s *Service) loadVectors(ctx context.Context, key *keyring.Key, tenant, collection string) ([]index.VectorEntry, error) {
	var out []index.VectorEntry
	err := s.o.Store.Vectors(ctx, tenant, collection, func(doc string, seq int, sealed []byte) error {
		id := chunkID(doc, seq)
		b, err := key.Open(kindVector, id, sealed)
		if err != nil {
			return err
		}
		out = append(out, index.VectorEntry{ID: id, Vec: decodeVector(b)})
		return nil
	})
	return out, err
}

// TableWeight is the default weight of a passage of Markdown table rows in
// the final ranking (Options.TableWeight): a table's rows repeat the
// words of the questions its prose answers (a permission table names every
// route that rotates or revokes a key) in short rows that BM25's length
// normalisation favours, so for the README's own question over
// docs/security.md they ranked above the prose. Measured on
// eval/rampartdocs (ADR 0104).
const TableWeight = 0.6

// tableRows reports whether a chunk's text is Markdown table rows: it
// starts and ends inside a table (chunks squeeze a row's line into
// "| a | b |").
func tableRows(text string) bool {
	return len(text) > 1 && text[0] == '|' && text[len(text)-1] == '|'
}

// rerankTerms returns the search's reranking (Options.Rerank, else
// DefaultRerank) and the query's terms to rerank by: none (no reranking)
// unless the search asked for hybrid — its lexical fallback included; the
// legs alone stay what they are, for evaluation.
func (s *Service) rerankTerms(mode Mode, tenant, collection, query string) (Rerank, []index.QueryTerm, error) {
	rr := DefaultRerank
	if s.o.Rerank != nil {
		rr = *s.o.Rerank
	}
	if mode != ModeHybrid || rr.off() {
		return rr, nil, nil
	}
	qt, err := s.o.Lexical.QueryTerms(tenant, collection, query)
	return rr, qt, err
}

// passages opens the best fused hits that still have rows (index entries
// of deleted or uncommitted chunks are skipped), best first. A passage of
// table rows scores its fused score times the table weight: when one is
// among the first topK, up to 2·topK hits are opened and reordered, so
// prose a little behind it comes first (no extra work otherwise). A
// hybrid search opens its first 2·topK hits (at most Rerank.Depth, at
// least topK) and reranks them by their text (Rerank; ADR 0113).
func (s *Service) passages(ctx context.Context, key *keyring.Key, q Query, fused []index.Hit, topK int) ([]Passage, error) {
	tenant, collection := q.Tenant, q.Collection
	rr, qt, err := s.rerankTerms(q.Mode, tenant, collection, q.Text)
	if err != nil {
		return nil, err
	}
	weight := s.o.TableWeight
	if weight <= 0 {
		weight = TableWeight
	}
	want, tables := topK, false
	rerank := len(qt) > 0 && !rr.off()
	if rerank {
		want, tables = max(topK, min(2*topK, rr.Depth)), true
	}
	out := make([]Passage, 0, topK)
	for start := 0; start < len(fused) && len(out) < want; {
		end := min(start+2*(want-len(out)), len(fused))
		refs := make([]store.ChunkRef, 0, end-start)
		for _, h := range fused[start:end] {
			if doc, seq, ok := splitChunkID(h.ID); ok {
				refs = append(refs, store.ChunkRef{DocumentID: doc, Seq: seq})
			}
		}
		rows, err := s.o.Store.Chunks(ctx, tenant, collection, refs)
		if err != nil {
			return nil, err
		}
		byID := make(map[string]store.StoredChunk, len(rows))
		for _, r := range rows {
			byID[chunkID(r.DocumentID, r.Seq)] = r
		}
		for _, h := range fused[start:end] {
			r, ok := byID[h.ID]
			if !ok {
				continue
			}
			p, err := openPassage(key, h, r)
			if err != nil {
				return nil, err
			}
			if weight != 1 && tableRows(p.Text) {
				p.Score *= weight
				if !tables || want < 2*topK {
					tables, want = true, max(want, 2*topK)
				}
			}
			out = append(out, p)
			if len(out) == want {
				break
			}
		}
		start = end
	}
	if rerank {
		for i := range out {
			out[i].Score *= rr.factor(qt, out[i])
		}
	}
	if tables {
		slices.SortStableFunc(out, func(a, b Passage) int { return cmp.Compare(b.Score, a.Score) })
		out = out[:min(len(out), topK)]
	}
	return out, nil
}

// openPassage opens a fused hit's stored chunk.
func openPassage(key *keyring.Key, h index.Hit, r store.StoredChunk) (Passage, error) {
	text, err := key.Open(kindText, h.ID, r.Text)
	if err != nil {
		return Passage{}, err
	}
	src, err := key.Open(kindSource, r.DocumentID, r.Source)
	if err != nil {
		return Passage{}, err
	}
	p := Passage{ChunkID: h.ID, DocumentID: r.DocumentID, Source: string(src), Text: string(text), Score: h.Score, UpdatedAt: r.DocumentCreatedAt}
	if r.Title != nil {
		t, err := key.Open(kindTitle, r.DocumentID, r.Title)
		if err != nil {
			return Passage{}, err
		}
		p.Title = string(t)
	}
	if r.Heading != nil {
		hd, err := key.Open(kindHeading, h.ID, r.Heading)
		if err != nil {
			return Passage{}, err
		}
		p.Heading = string(hd)
	}
	if r.Location != nil {
		loc, err := key.Open(kindLocation, h.ID, r.Location)
		if err != nil {
			return Passage{}, err
		}
		if p.Spans, err = decodeLocation(loc); err != nil {
			return Passage{}, err
		}
	}
	if strings.HasPrefix(p.Source, "https://") || strings.HasPrefix(p.Source, "http://") {
		p.URL = p.Source
	}
	return p, nil
}
