package index

import (
	"hash/maphash"
	"math"
	"sync"

	"github.com/blevesearch/bleve/v2/search"
	index "github.com/blevesearch/bleve_index_api"
)

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
// merge policy can merge less (scorchConfig), and they are what the
// collection scores once fully merged (on git-doc: the same hybrid results
// as before, BM25 alone as good as the better of main's runs).
//
// The distinct terms are counted as they are indexed, in a set of term
// hashes per open index (8–20 bytes a term), filled from the index's term
// dictionary when an existing index is first used. Terms only found in
// deleted chunks stay counted until the index is next opened (bleve's
// segments keep them until a merge too).

// vocabulary is the set of an index's distinct terms, by hash.
type vocabulary struct {
	mu     sync.Mutex
	loaded bool // filled from the index's dictionary (or created empty)
	terms  map[uint64]struct{}
}

var termSeed = maphash.MakeSeed()

func termHash(term []byte) uint64 { return maphash.Bytes(termSeed, term) }

// load fills v from the dictionary of r's "text" field, once.
func (v *vocabulary) load(r index.IndexReader) error {
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
		v.terms[maphash.String(termSeed, e.Term)] = struct{}{}
	}
	v.loaded = true
	return nil
}

// add counts the terms of indexed fields.
func (v *vocabulary) add(fields []textField) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for i := range fields {
		for _, h := range fields[i].hashes {
			v.terms[h] = struct{}{}
		}
	}
}

func (v *vocabulary) size() uint64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return uint64(len(v.terms))
}

// vocab returns the vocabulary of the index key, loaded from r when this
// process has not counted it yet.
func (l *Lexical) vocab(key string, r index.IndexReader) (*vocabulary, error) {
	l.mu.Lock()
	v, ok := l.vocabs[key]
	if !ok {
		v = &vocabulary{terms: map[uint64]struct{}{}}
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
func (l *Lexical) added(key string, fields []textField) {
	l.mu.Lock()
	v, ok := l.vocabs[key]
	if !ok { // an existing index not counted yet: loaded at its next search
		v = &vocabulary{terms: map[uint64]struct{}{}}
		l.vocabs[key] = v
	}
	l.mu.Unlock()
	v.add(fields)
}

// bm25Stats returns the statistics to score a search of the index key
// (read through r, holding n documents) by (see above).
func (l *Lexical) bm25Stats(key string, r index.IndexReader, n uint64) (*search.BM25Stats, error) {
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
