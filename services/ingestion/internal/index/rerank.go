package index

import (
	"math"
)

// QueryTerm is one distinct analysed term of a query and its BM25 idf in
// a collection (0 when no live chunk holds it).
type QueryTerm struct {
	Term string
	IDF  float64
}

// QueryTerms analyses a query like Search does and returns its distinct
// terms, in order, with their idf in the collection: what a reranker of
// the opened passages (ingest's rerank) weighs query-term coverage and
// proximity by. No index (or no key in memory): the terms with idf 0.
func (l *Lexical) QueryTerms(tenant, collection, text string) ([]QueryTerm, error) {
	terms := defaultAnalyzer.queryTerms(text)
	out := make([]QueryTerm, len(terms))
	for i, t := range terms {
		out[i].Term = t
	}
	ix, err := l.get(tenant, collection, false)
	if err != nil || ix == nil || len(out) == 0 {
		return out, err
	}
	keys := make([]uint64, len(terms))
	for i, t := range terms {
		keys[i] = ix.keyer.key(t)
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	n := float64(ix.live())
	for i, k := range keys {
		tid, ok := ix.terms[k]
		if !ok {
			continue
		}
		if df := float64(ix.liveDF(tid)); df > 0 {
			out[i].IDF = math.Log(1 + (n-df+0.5)/(df+0.5))
		}
	}
	return out, nil
}

// TermPositions analyses text like the index does and returns, for each
// of terms (analysed terms, as QueryTerms gives them), the word positions
// (1-based, stop words counted) where it occurs; nil for a term that does
// not. It builds no tokens: an ASCII word costs its lower-casing and one
// stem memo look-up (see fastAnalyzer.Analyze, which it equals:
// TestTermPositionsMatchAnalyze).
func TermPositions(text string, terms []string) [][]int {
	return defaultAnalyzer.positions([]byte(text), terms)
}

func (a *fastAnalyzer) positions(input []byte, terms []string) [][]int {
	at := make(map[string]int, len(terms))
	for i, t := range terms {
		at[t] = i
	}
	out := make([][]int, len(terms))
	pos := 0
	var lower []byte
	eachWord(input, func(start, end int) {
		pos++
		word := input[start:end]
		var term []byte
		if isASCII(word) {
			var h uint64
			lower, h = appendLower(lower[:0], word)
			st := a.stems.get(lower, h, a.stop)
			if st.stop {
				return
			}
			term = st.b
		} else {
			t, ok := a.filter(word)
			if !ok {
				return
			}
			term = t
		}
		if i, ok := at[string(term)]; ok {
			out[i] = append(out[i], pos)
		}
	})
	return out
}
