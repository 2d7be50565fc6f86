package index

// The bleve index that the native lexical index replaced (ADR 0051), kept
// as the reference the native index must rank exactly like
// (TestNativeMatchesBleve): the code of lexical.go and bm25.go before the
// change, renamed, with chunks indexed through bleve's mapping and
// analysed by bleve's own filter chain (chain), so the reference shares
// no code with what it checks.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/token/porter"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/character"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/registry"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"
)

// minRelativeScore drops lexical hits scoring below this fraction of the
// best hit.

// bleveLexical manages the per-tenant, per-collection bleve indexes.
type bleveLexical struct {
	dir string

	mu     sync.Mutex
	open   map[string]bleve.Index
	vocabs map[string]*bleveVocabulary // by index key (bm25.go)
}

// newBleveLexical keeps indexes under dir.
func newBleveLexical(dir string) *bleveLexical {
	return &bleveLexical{dir: dir, open: map[string]bleve.Index{}, vocabs: map[string]*bleveVocabulary{}}
}

// TenantDir is where a tenant's indexes live: a digest, so tenant ids never
// become path components.
func (l *bleveLexical) TenantDir(tenant string) string {
	sum := sha256.Sum256([]byte("rampart-ingestion-index\x00" + tenant))
	return filepath.Join(l.dir, hex.EncodeToString(sum[:16]))
}

func (l *bleveLexical) path(tenant, collection string) string {
	return filepath.Join(l.TenantDir(tenant), collection)
}

func bleveMapping() mapping.IndexMapping {
	im := bleve.NewIndexMapping()
	im.ScoringModel = index.BM25Scoring
	im.DefaultAnalyzer = AnalyzerName
	im.StoreDynamic = false
	im.IndexDynamic = false
	im.DocValuesDynamic = false
	fm := bleve.NewTextFieldMapping()
	fm.Analyzer = AnalyzerName
	fm.Store = false
	fm.IncludeInAll = false
	fm.IncludeTermVectors = false
	fm.DocValues = false
	dm := bleve.NewDocumentStaticMapping()
	dm.AddFieldMappingsAt("text", fm)
	im.DefaultMapping = dm
	return im
}

// get opens (creating with create) the index of a collection.
func (l *bleveLexical) get(tenant, collection string, create bool) (bleve.Index, error) {
	key := tenant + "\x00" + collection
	l.mu.Lock()
	defer l.mu.Unlock()
	if ix, ok := l.open[key]; ok {
		return ix, nil
	}
	p := l.path(tenant, collection)
	ix, err := bleve.OpenUsing(p, bleveScorchConfig())
	if errors.Is(err, bleve.ErrorIndexPathDoesNotExist) {
		if !create {
			return nil, nil
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return nil, err
		}
		ix, err = bleve.NewUsing(p, bleveMapping(), bleve.Config.DefaultIndexType, bleve.Config.DefaultKVStore, bleveScorchConfig())
		if err == nil {
			l.vocabs[key] = &bleveVocabulary{loaded: true, terms: map[uint64]struct{}{}}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open lexical index: %w", err)
	}
	l.open[key] = ix
	return ix, nil
}

// Index adds or replaces entries (ids are stable, so re-indexing after a
// crash is idempotent).
func (l *bleveLexical) Index(tenant, collection string, entries []Entry) error {
	ix, err := l.get(tenant, collection, true)
	if err != nil {
		return err
	}
	an := ix.Mapping().AnalyzerNamed(AnalyzerName)
	b := ix.NewBatch()
	var hashes []uint64
	for _, e := range entries {
		if err := b.Index(e.ID, map[string]any{"text": e.Text}); err != nil {
			return err
		}
		for _, t := range an.Analyze([]byte(e.Text)) {
			hashes = append(hashes, termHash(t.Term))
		}
	}
	if err := ix.Batch(b); err != nil {
		return err
	}
	l.added(tenant+"\x00"+collection, hashes)
	return nil
}

// Delete removes entries by id.
func (l *bleveLexical) Delete(tenant, collection string, ids []string) error {
	ix, err := l.get(tenant, collection, false)
	if err != nil || ix == nil {
		return err
	}
	b := ix.NewBatch()
	for _, id := range ids {
		b.Delete(id)
	}
	return ix.Batch(b)
}

// Search returns up to k chunk ids ranked by BM25 for query.
func (l *bleveLexical) Search(tenant, collection, text string, k int) ([]Hit, error) {
	ix, err := l.get(tenant, collection, false)
	if err != nil || ix == nil {
		return nil, err
	}
	q, stats, err := l.prune(tenant+"\x00"+collection, ix, text)
	if err != nil || q == nil {
		return nil, err
	}
	req := bleve.NewSearchRequestOptions(q, k, 0, false)
	ctx := context.WithValue(context.Background(), search.BM25StatsKey, stats)
	res, err := ix.SearchInContext(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("lexical search: %w", err)
	}
	out := make([]Hit, 0, len(res.Hits))
	for _, h := range res.Hits {
		// A term found in (nearly) every chunk has a BM25 idf of almost
		// zero: such hits carry no evidence and would only add noise to
		// the fusion.
		if len(out) > 0 && h.Score < out[0].Score*minRelativeScore {
			break
		}
		out = append(out, Hit{ID: h.ID, Score: h.Score})
	}
	return out, nil
}

// commonFraction: query terms found in more than this fraction of a
// collection's chunks are dropped from the lexical query (their BM25 idf is
// near zero, yet their postings are the longest to walk), as long as a
// rarer term remains — the "common terms" cutoff of Lucene.

// prune analyses query like the indexed text and keeps its informative
// terms as a disjunction of term queries (nil: no term at all), with the
// BM25 statistics to score them by (bm25Stats).
func (l *bleveLexical) prune(key string, ix bleve.Index, text string) (bleveQueryT, *search.BM25Stats, error) {
	an := ix.Mapping().AnalyzerNamed(AnalyzerName)
	if an == nil {
		return nil, nil, errors.New("lexical search: english analyser missing")
	}
	seen := map[string]bool{}
	var terms []string
	for _, tok := range an.Analyze([]byte(text)) {
		if t := string(tok.Term); !seen[t] {
			seen[t] = true
			terms = append(terms, t)
		}
	}
	if len(terms) == 0 {
		return nil, nil, nil
	}
	adv, err := ix.Advanced()
	if err != nil {
		return nil, nil, err
	}
	r, err := adv.Reader()
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	n, err := r.DocCount()
	if err != nil {
		return nil, nil, err
	}
	stats, err := l.bm25Stats(key, r, n)
	if err != nil {
		return nil, nil, err
	}
	type tdf struct {
		term string
		df   uint64
	}
	dfs := make([]tdf, 0, len(terms))
	for _, t := range terms {
		tfr, err := r.TermFieldReader(context.Background(), []byte(t), "text", false, false, false)
		if err != nil {
			return nil, nil, err
		}
		dfs = append(dfs, tdf{t, tfr.Count()})
		_ = tfr.Close()
	}
	limit := uint64(float64(n) * commonFraction)
	var keep []query.Query
	rarest := 0
	for i, d := range dfs {
		if d.df < dfs[rarest].df {
			rarest = i
		}
		if d.df > 0 && (n < 20 || d.df <= limit) {
			tq := bleve.NewTermQuery(d.term)
			tq.SetField("text")
			keep = append(keep, tq)
		}
	}
	if len(keep) == 0 { // only common terms: the rarest still ranks something
		if dfs[rarest].df == 0 {
			return nil, nil, nil
		}
		tq := bleve.NewTermQuery(dfs[rarest].term)
		tq.SetField("text")
		keep = append(keep, tq)
	}
	return bleve.NewDisjunctionQuery(keep...), stats, nil
}

type bleveQueryT = query.Query

// bleveScorchConfig is the runtime configuration of every collection's index
// (given at creation and again at each open: bleve keeps the creation's
// in the index's metadata, the open's wins).
//
// The merge policy: bleve's default floor segment of 2,000 chunks counts
// every smaller segment as that size, so it merges about every 2,000
// chunks, and merges 10 segments at a time into tiers 10× apart; each
// chunk was rewritten once or twice on the way, ~17% of ingestion's CPU.
// Here segments under 500 chunks count as 500 and 20 are merged at a
// time into tiers 20× apart: fewer rewrites per chunk for up to 20
// segments per tier. More segments changed BM25 scores before bm25Stats;
// they no longer do. Search time was not measurably different at 14k
// chunks (docs/performance.md).
func bleveScorchConfig() map[string]any {
	return map[string]any{
		"scorchMergePlanOptions": map[string]any{
			"FloorSegmentSize":     500,
			"MaxSegmentsPerTier":   20,
			"SegmentsPerMergeTask": 20,
			"TierGrowth":           20.0,
		},
	}
}

// bleveGenerationKey is where an index records the state of the collection it
// was built from (bleve's internal key-value space, not a document).
const textFieldName = "text"

var bleveGenerationKey = []byte("rampart.generation")

// Generation returns what SetGeneration last recorded in a collection's
// index ("" when nothing was, or there is no index).
func (l *bleveLexical) Generation(tenant, collection string) (string, error) {
	ix, err := l.get(tenant, collection, false)
	if err != nil || ix == nil {
		return "", err
	}
	v, err := ix.GetInternal(bleveGenerationKey)
	return string(v), err
}

// SetGeneration records in a collection's index (created if missing) the
// state of the collection it now holds, so a restart keeps an index that is
// still current.
func (l *bleveLexical) SetGeneration(tenant, collection, g string) error {
	ix, err := l.get(tenant, collection, true)
	if err != nil {
		return err
	}
	return ix.SetInternal(bleveGenerationKey, []byte(g))
}

// DropCollection closes and deletes a collection's index.
func (l *bleveLexical) DropCollection(tenant, collection string) error {
	l.close(tenant + "\x00" + collection)
	return os.RemoveAll(l.path(tenant, collection))
}

// DropOtherTenants deletes the index directories of every tenant not in
// keep (and not open): the indexes of tenants purged while this replica
// was down. It returns how many it deleted.
func (l *bleveLexical) DropOtherTenants(keep []string) (int, error) {
	entries, err := os.ReadDir(l.dir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	keepDirs := make(map[string]bool, len(keep))
	for _, t := range keep {
		keepDirs[filepath.Base(l.TenantDir(t))] = true
	}
	l.mu.Lock()
	for k := range l.open {
		tenant, _, _ := strings.Cut(k, "\x00")
		keepDirs[filepath.Base(l.TenantDir(tenant))] = true
	}
	l.mu.Unlock()
	n := 0
	for _, e := range entries {
		if !e.IsDir() || keepDirs[e.Name()] {
			continue
		}
		if err := os.RemoveAll(filepath.Join(l.dir, e.Name())); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// DropTenant closes and deletes all of a tenant's indexes.
func (l *bleveLexical) DropTenant(tenant string) error {
	l.mu.Lock()
	for k, ix := range l.open {
		if len(k) > len(tenant) && k[:len(tenant)+1] == tenant+"\x00" {
			_ = ix.Close()
			delete(l.open, k)
		}
	}
	for k := range l.vocabs {
		if strings.HasPrefix(k, tenant+"\x00") {
			delete(l.vocabs, k)
		}
	}
	l.mu.Unlock()
	return os.RemoveAll(l.TenantDir(tenant))
}

func (l *bleveLexical) close(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ix, ok := l.open[key]; ok {
		_ = ix.Close()
		delete(l.open, key)
	}
	delete(l.vocabs, key)
}

// Close closes every open index.
func (l *bleveLexical) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	for k, ix := range l.open {
		errs = append(errs, ix.Close())
		delete(l.open, k)
	}
	clear(l.vocabs)
	return errors.Join(errs...)
}

// BM25's length normalisation divides a chunk's length by an "average
// document length", which bleve derives from the index it searches: the
// field's dictionary size summed over the index's segments, divided by the
// document count and rounded up (searcher.bm25ScoreMetrics). Summed over
// segments, a term counts once per segment it occurs in, so every score
// moved with the segment layout: with when background merges had run, and
// with the merge policy (a cheaper policy keeping more segments lowered
// BM25 recall@5 on the git-doc sets; ADR 0045).
//
// Search passes bleve that statistic as it is for a fully merged index
// instead: the number of distinct terms of the field over the document
// count, rounded up. Scores no longer depend on the segment layout, so the
// merge policy can merge less (bleveScorchConfig), and they are what the
// collection scores once fully merged (on git-doc: the same hybrid results
// as before, BM25 alone as good as the better of main's runs).
//
// The distinct terms are counted as they are indexed, in a set of term
// hashes per open index (8–20 bytes a term), filled from the index's term
// dictionary when an existing index is first used. Terms only found in
// deleted chunks stay counted until the index is next opened (bleve's
// segments keep them until a merge too).

// bleveVocabulary is the set of an index's distinct terms, by hash.
type bleveVocabulary struct {
	mu     sync.Mutex
	loaded bool // filled from the index's dictionary (or created empty)
	terms  map[uint64]struct{}
}

// load fills v from the dictionary of r's "text" field, once.
func (v *bleveVocabulary) load(r index.IndexReader) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.loaded {
		return nil
	}
	d, err := r.FieldDict(textFieldName)
	if err != nil {
		return err
	}
	defer d.Close()
	for {
		e, err := d.Next()
		if err != nil {
			return err
		}
		if e == nil {
			break
		}
		v.terms[termHash([]byte(e.Term))] = struct{}{}
	}
	v.loaded = true
	return nil
}

// add counts the terms of indexed fields.
func (v *bleveVocabulary) add(hashes []uint64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, h := range hashes {
		v.terms[h] = struct{}{}
	}
}

func (v *bleveVocabulary) size() uint64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return uint64(len(v.terms))
}

// vocab returns the bleveVocabulary of the index key, loaded from r when this
// process has not counted it yet.
func (l *bleveLexical) vocab(key string, r index.IndexReader) (*bleveVocabulary, error) {
	l.mu.Lock()
	v, ok := l.vocabs[key]
	if !ok {
		v = &bleveVocabulary{terms: map[uint64]struct{}{}}
		l.vocabs[key] = v
	}
	l.mu.Unlock()
	v.mu.Lock()
	loaded := v.loaded
	v.mu.Unlock()
	if loaded {
		return v, nil
	}
	return v, v.load(r)
}

// added counts the terms of fields just indexed into the index key.
func (l *bleveLexical) added(key string, hashes []uint64) {
	l.mu.Lock()
	v, ok := l.vocabs[key]
	if !ok { // an existing index not counted yet: loaded at its next search
		v = &bleveVocabulary{terms: map[uint64]struct{}{}}
		l.vocabs[key] = v
	}
	l.mu.Unlock()
	v.add(hashes)
}

// bm25Stats returns the statistics to score a search of the index key
// (read through r, holding n documents) by (see above).
func (l *bleveLexical) bm25Stats(key string, r index.IndexReader, n uint64) (*search.BM25Stats, error) {
	v, err := l.vocab(key, r)
	if err != nil {
		return nil, err
	}
	avg := 0.0
	if n > 0 {
		avg = math.Ceil(float64(v.size()) / float64(n))
	}
	// bleve divides the cardinality by the document count and rounds up:
	// avg × n gives back exactly avg (integers far below 2^53).
	return &search.BM25Stats{DocCount: float64(n), FieldCardinality: map[string]int{textFieldName: int(avg * float64(n))}}, nil
}

// chain is the reference analyser: bleve's filters one after another.
func chain(cache *registry.Cache) (*analysis.DefaultAnalyzer, error) {
	lower, err := cache.TokenFilterNamed(lowercase.Name)
	if err != nil {
		return nil, err
	}
	stop, err := cache.TokenFilterNamed(en.StopName)
	if err != nil {
		return nil, err
	}
	stem, err := cache.TokenFilterNamed(porter.Name)
	if err != nil {
		return nil, err
	}
	return &analysis.DefaultAnalyzer{
		Tokenizer:    character.NewCharacterTokenizer(isWordRune),
		TokenFilters: []analysis.TokenFilter{lower, stop, stem},
	}, nil
}

func init() {
	err := registry.RegisterAnalyzer(AnalyzerName, func(_ map[string]any, cache *registry.Cache) (analysis.Analyzer, error) {
		return chain(cache)
	})
	if err != nil {
		panic(err)
	}
}
