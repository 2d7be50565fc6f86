package index

import (
	"container/heap"
	"hash/maphash"
	"math"
	"sort"
	"sync"
)

// BM25 as bleve scored it for a disjunction of term queries (ADR 0045,
// 0051), so rankings stay what they were (TestNativeMatchesBleve):
//
//   - tf is the square root of the term's count in the chunk;
//   - a chunk's length L is its number of terms, stored by bleve as a
//     float32 norm 1/√L and read back as 1/norm²;
//   - idf = ln(1 + (N − df + 0.5)/(df + 0.5)) over the live chunks;
//   - the average length is ⌈distinct terms / N⌉ (ADR 0045: independent of
//     segments; terms of dead chunks count until a compaction);
//   - each term's score idf·tf·k1/(tf + k1·(1 − b + b·L/avg)) is weighted by
//     idf·queryNorm, queryNorm = 1/√Σidf², the terms' scores are summed
//     (rarest term first) and multiplied by the coordination factor
//     matched/queried terms.
const (
	bm25K1 = 1.2
	bm25B  = 0.75
)

var termSeed = maphash.MakeSeed()

// termHash is the process-local hash of a term (stem memo, hot map).
func termHash(term []byte) uint64 { return maphash.Bytes(termSeed, term) }

// minRelativeScore drops lexical hits scoring below this fraction of the
// best hit.
const minRelativeScore = 1e-3

// commonFraction: query terms found in more than this fraction of a
// collection's chunks are dropped from the lexical query (their BM25 idf is
// near zero, yet their postings are the longest to walk), as long as a
// rarer term remains — the "common terms" cutoff of Lucene.
const commonFraction = 0.3

type queryTerm struct {
	tid uint32
	df  uint64
	w   float64 // idf·queryNorm
	idf float64
}

// plan looks up the query's terms (keyed) and keeps the informative ones
// (commonFraction), rarest first; nil when nothing can match. The caller
// holds ix.mu for reading.
func (ix *collIndex) plan(keys []uint64, n uint64) []queryTerm {
	dfs := make([]queryTerm, len(keys))
	for i, k := range keys {
		if tid, ok := ix.terms[k]; ok {
			dfs[i] = queryTerm{tid: tid, df: ix.liveDF(tid)}
		}
	}
	limit := uint64(float64(n) * commonFraction)
	var keep []queryTerm
	rarest := 0
	for i, d := range dfs {
		if d.df < dfs[rarest].df {
			rarest = i
		}
		if d.df > 0 && (n < 20 || d.df <= limit) {
			keep = append(keep, d)
		}
	}
	if len(keep) == 0 { // only common terms: the rarest still ranks something
		if len(dfs) == 0 || dfs[rarest].df == 0 {
			return nil
		}
		keep = append(keep, dfs[rarest])
	}
	sum := 0.0
	for i := range keep {
		df := float64(keep[i].df)
		keep[i].idf = math.Log(1 + (float64(n)-df+0.5)/(df+0.5))
		sum += keep[i].idf * keep[i].idf
	}
	norm := 1 / math.Sqrt(sum)
	for i := range keep {
		keep[i].w = keep[i].idf * norm
	}
	sort.SliceStable(keep, func(i, j int) bool { return keep[i].df < keep[j].df })
	return keep
}

// scratch is a search's per-chunk accumulators, pooled.
type scratch struct {
	score   []float64
	matched []uint16
	touched []uint32
}

var scratchPool sync.Pool

func getScratch(n int) *scratch {
	s, _ := scratchPool.Get().(*scratch)
	if s == nil {
		s = &scratch{}
	}
	if len(s.score) < n {
		s.score = make([]float64, n+n/4)
		s.matched = make([]uint16, n+n/4)
	}
	s.touched = s.touched[:0]
	return s
}

func putScratch(s *scratch) {
	for _, o := range s.touched {
		s.score[o], s.matched[o] = 0, 0
	}
	scratchPool.Put(s)
}

// search ranks the chunks matching the query's keyed terms by BM25 and
// returns the best k.
func (ix *collIndex) search(keys []uint64, k int) []Hit {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	n := uint64(ix.live()) //nolint:gosec // a count, not negative
	if n == 0 || k <= 0 {
		return nil
	}
	plan := ix.plan(keys, n)
	if plan == nil {
		return nil
	}
	avg := math.Ceil(float64(len(ix.post)) / float64(n))
	s := getScratch(len(ix.ids))
	defer putScratch(s)
	for _, q := range plan {
		p := &ix.post[q.tid]
		next := uint32(0)
		for i := 0; i < len(p.buf); {
			var ord, f uint32
			ord, f, i = decode(p.buf, i, next)
			next = ord + 1
			if ix.nDead > 0 && ix.isDead(ord) {
				continue
			}
			tf := math.Sqrt(float64(f))
			norm := float64(float32(1 / math.Sqrt(float64(ix.lens[ord]))))
			fieldLength := 1 / (norm * norm)
			sc := q.idf * (tf * bm25K1) / (tf + bm25K1*(1-bm25B+(bm25B*fieldLength/avg)))
			if q.w != 1.0 {
				sc *= q.w
			}
			if s.matched[ord] == 0 {
				s.touched = append(s.touched, ord)
			}
			s.score[ord] += sc
			s.matched[ord]++
		}
	}
	return ix.top(s, len(plan), k)
}

// top returns the best k of the touched chunks, ties to the earlier
// chunk, cut at minRelativeScore of the best.
func (ix *collIndex) top(s *scratch, queried, k int) []Hit {
	h := make(hitHeap, 0, min(k, len(s.touched)))
	for _, o := range s.touched {
		sc := s.score[o] * (float64(s.matched[o]) / float64(queried))
		switch {
		case len(h) < k:
			heap.Push(&h, scored{ord: o, score: sc})
		case better(scored{ord: o, score: sc}, h[0]):
			h[0] = scored{ord: o, score: sc}
			heap.Fix(&h, 0)
		}
	}
	out := make([]Hit, len(h))
	for i := len(h) - 1; i >= 0; i-- {
		x, _ := heap.Pop(&h).(scored)
		out[i] = Hit{ID: ix.ids[x.ord], Score: x.score}
	}
	for i := 1; i < len(out); i++ {
		// A term found in (nearly) every chunk has a BM25 idf of almost
		// zero: such hits carry no evidence and would only add noise to
		// the fusion.
		if out[i].Score < out[0].Score*minRelativeScore {
			return out[:i]
		}
	}
	return out
}

type scored struct {
	ord   uint32
	score float64
}

func better(a, b scored) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	return a.ord < b.ord
}

// hitHeap is a min-heap: the worst kept hit on top.
type hitHeap []scored

func (h hitHeap) Len() int           { return len(h) }
func (h hitHeap) Less(i, j int) bool { return better(h[j], h[i]) }
func (h hitHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *hitHeap) Push(x any)        { v, _ := x.(scored); *h = append(*h, v) }
func (h *hitHeap) Pop() any {
	old := *h
	v := old[len(old)-1]
	*h = old[:len(old)-1]
	return v
}
