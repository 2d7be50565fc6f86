package index

import "sort"

// RRFK is the reciprocal rank fusion constant (Cormack et al.).
const RRFK = 60

// Fuse merges rankings by reciprocal rank fusion: each id scores the sum
// over rankings of 1/(RRFK + rank), rank counted from 1. Rankings are given
// in priority order: equal scores go to the id ranked in an earlier ranking
// (then the better rank there, then the id, for a stable order). It returns
// at most k hits.
func Fuse(k int, rankings ...[]Hit) []Hit {
	rs := make([]Ranking, len(rankings))
	for i, r := range rankings {
		rs[i] = Ranking{Hits: r, Weight: 1}
	}
	return FuseWeighted(k, rs...)
}

// Ranking is one ranked list and its weight in the fusion.
type Ranking struct {
	Hits   []Hit
	Weight float64
}

// FuseWeighted is Fuse with a weight per ranking: an id scores the sum of
// weight/(RRFK + rank). A weak ranking (hash vectors) gets a small weight
// so that it breaks ties and adds recall at the tail without pushing a
// strong ranking's hits down.
func FuseWeighted(k int, rankings ...Ranking) []Hit {
	return fuse(k, rankings, func(_ int, r Ranking, i int) float64 { return r.Weight / float64(RRFK+i+1) })
}

// FuseScores merges rankings by their scores rather than their ranks: each
// ranking's scores are min-max normalised over its hits (best 1, worst 0;
// all 1 when they are equal) and an id scores the weighted sum (CombSUM).
// Unlike RRF it keeps how far ahead a ranking's best hits are, which
// matters when both rankings are of similar quality (the hash embedder
// of version 2 against BM25). Ties break as in FuseWeighted. Scores are
// scaled by 1/(RRFK+1), so a ranking's best hit adds what it adds in RRF:
// passages of collections fused either way stay on one scale when
// inference merges several collections and applies min_score.
func FuseScores(k int, rankings ...Ranking) []Hit {
	bounds := make([][2]float64, len(rankings)) // lo, hi
	for li, r := range rankings {
		if len(r.Hits) == 0 {
			continue
		}
		lo, hi := r.Hits[0].Score, r.Hits[0].Score
		for _, h := range r.Hits {
			lo, hi = min(lo, h.Score), max(hi, h.Score)
		}
		bounds[li] = [2]float64{lo, hi}
	}
	return fuse(k, rankings, func(li int, r Ranking, i int) float64 {
		b := bounds[li]
		if b[1] <= b[0] {
			return r.Weight / (RRFK + 1)
		}
		return r.Weight * (r.Hits[i].Score - b[0]) / (b[1] - b[0]) / (RRFK + 1)
	})
}

// fuse sums score(ranking, rank) per id over the rankings of positive
// weight and returns the best k, ties going to the id ranked in an
// earlier ranking, then the better rank there, then the smaller id.
func fuse(k int, rankings []Ranking, score func(li int, r Ranking, i int) float64) []Hit {
	type acc struct {
		score       float64
		first, rank int
	}
	m := map[string]*acc{}
	for li, r := range rankings {
		if r.Weight <= 0 {
			continue
		}
		for i, h := range r.Hits {
			a, ok := m[h.ID]
			if !ok {
				a = &acc{first: li, rank: i}
				m[h.ID] = a
			}
			a.score += score(li, r, i)
		}
	}
	type row struct {
		Hit
		acc
	}
	rows := make([]row, 0, len(m))
	for id, a := range m {
		rows = append(rows, row{Hit{ID: id, Score: a.score}, *a})
	}
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		switch {
		case a.Score != b.Score:
			return a.Score > b.Score
		case a.first != b.first:
			return a.first < b.first
		case a.rank != b.rank:
			return a.rank < b.rank
		}
		return a.ID < b.ID
	})
	out := make([]Hit, len(rows))
	for i, r := range rows {
		out[i] = r.Hit
	}
	if len(out) > k {
		out = out[:k]
	}
	return out
}
