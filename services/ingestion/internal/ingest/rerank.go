package ingest

import (
	"math"
	"slices"
	"strings"

	"github.com/rampart-platform/rampart/services/ingestion/internal/index"
)

// Rerank weighs the passages a search opened by how well their own text
// matches the query, after the fusion (ADR 0113). A passage's score is
// multiplied by
//
//	(1 + Coverage·cov + Proximity·prox) / (1 + Coverage + Proximity)
//
// where cov is the idf-weighted share of the query's terms the passage
// holds and prox how close together it holds them (cov × m/W, W the width
// in words of the smallest window holding each of its m ≥ 2 distinct
// query terms; 0 with one of several, cov for a query of one informative
// term), so a passage matching the whole question in one clause keeps
// its fused score and one matching part of it, scattered, loses up to
// the whole weight. Scores only go down, so min_score keeps its meaning.
// A per-document decay was measured and rejected (ADR 0113), and so was
// a share of the query in the heading path; a section titled by the
// whole question is another matter (Section, ADR 0133):
//
//	(1 + Coverage·cov + Proximity·prox + Section·titled) / (1 + Coverage + Proximity + Section)
//
// where titled is 1 when the passage's own section heading (the last part
// of its heading path) holds every informative term of the query, else 0.
type Rerank struct {
	// Depth bounds how many fused hits are opened and reranked: 2·top_k
	// (the table weight's window), at most Depth, at least top_k.
	Depth               int
	Coverage, Proximity float64
	// Section weighs a passage whose own section's heading names every
	// informative query term: the section that is about the question
	// ("API keys: how they are rotated and revoked" for "How are API keys
	// rotated?"), over passages of other sections that discuss its words
	// (ADR 0133).
	Section float64
}

// DefaultRerank is the reranking of searches (Options.Rerank nil),
// chosen on eval/rampartdocs (ADR 0113, ADR 0133).
var DefaultRerank = Rerank{Depth: 20, Coverage: 0.5, Proximity: 1, Section: 0.5}

// off reports whether r changes nothing.
func (r Rerank) off() bool {
	return r.Coverage == 0 && r.Proximity == 0 && r.Section == 0
}

// rerankFactor is what a passage's score is multiplied by (see Rerank)
// for the query terms qt.
func (r Rerank) factor(qt []index.QueryTerm, p Passage) float64 {
	var total float64
	informative := 0
	terms := make([]string, len(qt))
	for i, t := range qt {
		terms[i] = t.Term
		total += t.IDF
		if t.IDF > 0 {
			informative++
		}
	}
	if total == 0 {
		return 1
	}
	pos := index.TermPositions(p.Text, terms)
	var have float64
	var lists [][]int
	for i, t := range qt {
		if ps := pos[i]; len(ps) > 0 && t.IDF > 0 {
			have += t.IDF
			lists = append(lists, ps)
		}
	}
	cov := have / total
	var prox float64
	switch {
	case informative == 1:
		prox = cov // nothing to be near: proximity is not evidence either way
	case len(lists) > 1:
		prox = cov * float64(len(lists)) / float64(minWindow(lists))
	}
	titled := 0.0
	if r.Section > 0 && sectionTitled(qt, p.Heading) {
		titled = 1
	}
	return (1 + r.Coverage*cov + r.Proximity*prox + r.Section*titled) / (1 + r.Coverage + r.Proximity + r.Section)
}

// headingSep separates a heading path's parts (extract.Section.HeadingPath).
const headingSep = " > "

// sectionTitled reports whether the last part of a heading path ("A > B":
// B) holds every informative query term. A share of the terms is not
// enough: generic headings ("Found and fixed", a man page's "OPTIONS")
// share a word with many questions, which ADR 0113 measured as a loss.
func sectionTitled(qt []index.QueryTerm, heading string) bool {
	if i := strings.LastIndex(heading, headingSep); i >= 0 {
		heading = heading[i+len(headingSep):]
	}
	if strings.TrimSpace(heading) == "" {
		return false
	}
	terms := make([]string, len(qt))
	for i, t := range qt {
		terms[i] = t.Term
	}
	pos := index.TermPositions(heading, terms)
	informative := 0
	for i, t := range qt {
		if t.IDF <= 0 {
			continue
		}
		informative++
		if len(pos[i]) == 0 {
			return false
		}
	}
	return informative > 0
}

// minWindow is the width (last − first + 1) of the smallest window of
// positions holding at least one position of each list (each sorted).
func minWindow(lists [][]int) int {
	type ev struct{ pos, list int }
	var evs []ev
	for i, l := range lists {
		for _, p := range l {
			evs = append(evs, ev{p, i})
		}
	}
	slices.SortFunc(evs, func(a, b ev) int { return a.pos - b.pos })
	count := make([]int, len(lists))
	have, best, lo := 0, math.MaxInt, 0
	for _, e := range evs {
		if count[e.list] == 0 {
			have++
		}
		count[e.list]++
		for have == len(lists) {
			best = min(best, e.pos-evs[lo].pos+1)
			count[evs[lo].list]--
			if count[evs[lo].list] == 0 {
				have--
			}
			lo++
		}
	}
	return best
}
