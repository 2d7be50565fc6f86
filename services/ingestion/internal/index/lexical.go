package index

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"
)

// Entry is one chunk to index.
type Entry struct {
	ID   string
	Text string
}

// Hit is a ranked chunk id.
type Hit struct {
	ID    string
	Score float64
}

// minRelativeScore drops lexical hits scoring below this fraction of the
// best hit.
const minRelativeScore = 1e-3

// Lexical manages the per-tenant, per-collection bleve indexes.
type Lexical struct {
	dir string

	mu     sync.Mutex
	open   map[string]bleve.Index
	vocabs map[string]*vocabulary // by index key (bm25.go)
}

// NewLexical keeps indexes under dir.
func NewLexical(dir string) *Lexical {
	return &Lexical{dir: dir, open: map[string]bleve.Index{}, vocabs: map[string]*vocabulary{}}
}

// TenantDir is where a tenant's indexes live: a digest, so tenant ids never
// become path components.
func (l *Lexical) TenantDir(tenant string) string {
	sum := sha256.Sum256([]byte("rampart-ingestion-index\x00" + tenant))
	return filepath.Join(l.dir, hex.EncodeToString(sum[:16]))
}

func (l *Lexical) path(tenant, collection string) string {
	return filepath.Join(l.TenantDir(tenant), collection)
}

func newMapping() mapping.IndexMapping {
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
func (l *Lexical) get(tenant, collection string, create bool) (bleve.Index, error) {
	key := tenant + "\x00" + collection
	l.mu.Lock()
	defer l.mu.Unlock()
	if ix, ok := l.open[key]; ok {
		return ix, nil
	}
	p := l.path(tenant, collection)
	ix, err := bleve.OpenUsing(p, scorchConfig())
	if errors.Is(err, bleve.ErrorIndexPathDoesNotExist) {
		if !create {
			return nil, nil
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return nil, err
		}
		ix, err = bleve.NewUsing(p, newMapping(), bleve.Config.DefaultIndexType, bleve.Config.DefaultKVStore, scorchConfig())
		if err == nil {
			l.vocabs[key] = &vocabulary{loaded: true, terms: map[uint64]struct{}{}}
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
func (l *Lexical) Index(tenant, collection string, entries []Entry) error {
	ix, err := l.get(tenant, collection, true)
	if err != nil {
		return err
	}
	an, ok := ix.Mapping().AnalyzerNamed(AnalyzerName).(*fastAnalyzer)
	if !ok {
		return errors.New("lexical index: analyser " + AnalyzerName + " missing")
	}
	// Documents built here rather than mapped (see textField).
	b := ix.NewBatch()
	fields := make([]textField, len(entries))
	for i, e := range entries {
		fields[i] = textField{value: []byte(e.Text), an: an}
		doc := document.NewDocument(e.ID)
		doc.AddField(&fields[i])
		if err := b.IndexAdvanced(doc); err != nil {
			return err
		}
	}
	if err := ix.Batch(b); err != nil {
		return err
	}
	l.added(tenant+"\x00"+collection, fields)
	return nil
}

// Delete removes entries by id.
func (l *Lexical) Delete(tenant, collection string, ids []string) error {
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
func (l *Lexical) Search(tenant, collection, text string, k int) ([]Hit, error) {
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
const commonFraction = 0.3

// prune analyses query like the indexed text and keeps its informative
// terms as a disjunction of term queries (nil: no term at all), with the
// BM25 statistics to score them by (bm25Stats).
func (l *Lexical) prune(key string, ix bleve.Index, text string) (bleveQuery, *search.BM25Stats, error) {
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

type bleveQuery = query.Query

// scorchConfig is the runtime configuration of every collection's index
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
func scorchConfig() map[string]any {
	return map[string]any{
		"scorchMergePlanOptions": map[string]any{
			"FloorSegmentSize":     500,
			"MaxSegmentsPerTier":   20,
			"SegmentsPerMergeTask": 20,
			"TierGrowth":           20.0,
		},
	}
}

// generationKey is where an index records the state of the collection it
// was built from (bleve's internal key-value space, not a document).
var generationKey = []byte("rampart.generation")

// Generation returns what SetGeneration last recorded in a collection's
// index ("" when nothing was, or there is no index).
func (l *Lexical) Generation(tenant, collection string) (string, error) {
	ix, err := l.get(tenant, collection, false)
	if err != nil || ix == nil {
		return "", err
	}
	v, err := ix.GetInternal(generationKey)
	return string(v), err
}

// SetGeneration records in a collection's index (created if missing) the
// state of the collection it now holds, so a restart keeps an index that is
// still current.
func (l *Lexical) SetGeneration(tenant, collection, g string) error {
	ix, err := l.get(tenant, collection, true)
	if err != nil {
		return err
	}
	return ix.SetInternal(generationKey, []byte(g))
}

// DropCollection closes and deletes a collection's index.
func (l *Lexical) DropCollection(tenant, collection string) error {
	l.close(tenant + "\x00" + collection)
	return os.RemoveAll(l.path(tenant, collection))
}

// DropOtherTenants deletes the index directories of every tenant not in
// keep (and not open): the indexes of tenants purged while this replica
// was down. It returns how many it deleted.
func (l *Lexical) DropOtherTenants(keep []string) (int, error) {
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
func (l *Lexical) DropTenant(tenant string) error {
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

func (l *Lexical) close(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ix, ok := l.open[key]; ok {
		_ = ix.Close()
		delete(l.open, key)
	}
	delete(l.vocabs, key)
}

// Close closes every open index.
func (l *Lexical) Close() error {
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
