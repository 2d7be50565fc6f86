package index_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/ingestion/internal/embed"
	"github.com/rampart-platform/rampart/services/ingestion/internal/index"
)

func TestFuse(t *testing.T) {
	a := []index.Hit{{ID: "x"}, {ID: "y"}, {ID: "z"}}
	b := []index.Hit{{ID: "y"}, {ID: "w"}}
	got := index.Fuse(3, a, b)
	require.Len(t, got, 3)
	require.Equal(t, "y", got[0].ID, "in both lists, ranks 2 and 1")
	require.InDelta(t, 1.0/62+1.0/61, got[0].Score, 1e-12)
	require.Equal(t, "x", got[1].ID)
	require.Equal(t, "w", got[2].ID, "1/62 beats z's 1/63")
	require.Equal(t, []string{"a", "b"}, ids(index.Fuse(2, []index.Hit{{ID: "a"}}, []index.Hit{{ID: "b"}})), "a tie goes to the first ranking")
	require.Empty(t, index.Fuse(5))
}

// TestFuseWeighted: a low-weight ranking reorders near-ties of the strong
// one but cannot lift its own top hit over the strong ranking's top hits.
func TestFuseWeighted(t *testing.T) {
	lex := []index.Hit{{ID: "a"}, {ID: "b"}, {ID: "c"}}
	vec := []index.Hit{{ID: "z"}, {ID: "c"}, {ID: "b"}}
	got := index.FuseWeighted(4, index.Ranking{Hits: lex, Weight: 1}, index.Ranking{Hits: vec, Weight: 0.25})
	// b and c, found by both, pass a; z, the vector ranking's top hit
	// alone, stays last (at equal weight its 1/61 would tie a's).
	require.Equal(t, []string{"b", "c", "a", "z"}, ids(got))
	require.InDelta(t, 1.0/62+0.25/63, got[0].Score, 1e-12)
	equal := index.FuseWeighted(4, index.Ranking{Hits: lex, Weight: 1}, index.Ranking{Hits: vec, Weight: 1})
	require.Equal(t, ids(index.Fuse(4, lex, vec)), ids(equal))
	require.Equal(t, []string{"a", "b", "c"}, ids(index.FuseWeighted(5, index.Ranking{Hits: lex, Weight: 1}, index.Ranking{Hits: vec, Weight: 0})), "weight 0 drops a ranking")
}

// TestFuseScores: min-max normalised scores, weighted and summed; a
// ranking's clear leader keeps its lead where RRF would only see ranks.
func TestFuseScores(t *testing.T) {
	lex := []index.Hit{{ID: "a", Score: 10}, {ID: "b", Score: 9.5}, {ID: "c", Score: 2}}
	vec := []index.Hit{{ID: "c", Score: 0.9}, {ID: "b", Score: 0.3}, {ID: "d", Score: 0.1}}
	got := index.FuseScores(4, index.Ranking{Hits: lex, Weight: 1}, index.Ranking{Hits: vec, Weight: 1})
	// a 1; b 7.5/8 + 0.2/0.8 = 1.1875; c 0 + 1; d 0 + 0; all ÷ 61.
	require.Equal(t, []string{"b", "a", "c", "d"}, ids(got))
	require.InDelta(t, (7.5/8+0.25)/61, got[0].Score, 1e-12)
	require.InDelta(t, 1.0/61, got[1].Score, 1e-12, "a ranking's best hit adds what it adds in RRF")
	require.Equal(t, "a", got[1].ID, "a tie (a and c at 1) goes to the first ranking")
	// RRF on the same lists only sees ranks: c (ranks 3 and 1) comes
	// first, over b (2 and 2) and a, BM25's clear leader.
	require.Equal(t, []string{"c", "b", "a", "d"}, ids(index.Fuse(4, lex, vec)))
	one := index.FuseScores(2, index.Ranking{Hits: []index.Hit{{ID: "x", Score: 3}, {ID: "y", Score: 3}}, Weight: 1})
	require.Equal(t, []string{"x", "y"}, ids(one), "equal scores all normalise to 1; ties keep rank order")
	require.InDelta(t, 1.0/61, one[1].Score, 1e-15)
	require.Empty(t, index.FuseScores(5))
	require.Equal(t, []string{"a", "b", "c"}, ids(index.FuseScores(5, index.Ranking{Hits: lex, Weight: 1}, index.Ranking{Hits: vec, Weight: 0})), "weight 0 drops a ranking")
}

func TestLexical(t *testing.T) {
	l := index.NewKeyedLexical(t.TempDir(), index.NewTestKeys(t))
	t.Cleanup(func() { _ = l.Close() })
	require.NoError(t, l.Index("t1", "docs", []index.Entry{
		{ID: "a:0", Text: "The payment service retries failed charges."},
		{ID: "a:1", Text: "Kubernetes schedules pods on nodes."},
		{ID: "b:0", Text: "Retries are bounded by exponential backoff for payments."},
	}))
	hits, err := l.Search("t1", "docs", "payment retries", 10)
	require.NoError(t, err)
	require.Len(t, hits, 2)
	ids := []string{hits[0].ID, hits[1].ID}
	require.ElementsMatch(t, []string{"a:0", "b:0"}, ids)

	hits, err = l.Search("t2", "docs", "payment", 10)
	require.NoError(t, err)
	require.Empty(t, hits, "other tenant has no index")

	require.NoError(t, l.Delete("t1", "docs", []string{"a:0"}))
	hits, err = l.Search("t1", "docs", "payment", 10)
	require.NoError(t, err)
	require.Len(t, hits, 1)
	require.Equal(t, "b:0", hits[0].ID)

	require.NoError(t, l.DropTenant("t1"))
	hits, err = l.Search("t1", "docs", "payment", 10)
	require.NoError(t, err)
	require.Empty(t, hits)
}

func TestVectors(t *testing.T) {
	v := index.NewVectors(2)
	loads := 0
	var entries []index.VectorEntry
	for i := range 50 {
		entries = append(entries, index.VectorEntry{ID: fmt.Sprint(i), Vec: embed.HashEmbedding(fmt.Sprintf("topic %d alpha", i), 64)})
	}
	load := func(context.Context, string, string) ([]index.VectorEntry, error) { loads++; return entries, nil }
	q := embed.HashEmbedding("topic 7 alpha", 64)
	hits, err := v.Search(context.Background(), "t", "c", q, 5, load)
	require.NoError(t, err)
	require.Len(t, hits, 5)
	require.Equal(t, "7", hits[0].ID)
	require.InDelta(t, 1, hits[0].Score, 1e-5)
	for i := 1; i < len(hits); i++ {
		require.GreaterOrEqual(t, hits[i-1].Score, hits[i].Score)
	}
	_, err = v.Search(context.Background(), "t", "c", q, 5, load)
	require.NoError(t, err)
	require.Equal(t, 1, loads, "cached")
	// the column layout scores exactly like a row-by-row dot product
	m := index.NewMatrix(entries)
	for _, h := range m.TopK(q, 10) {
		var id int
		_, _ = fmt.Sscan(h.ID, &id)
		require.InDelta(t, embed.Dot(entries[id].Vec, q), h.Score, 1e-5)
	}
	require.Empty(t, index.NewMatrix(nil).TopK(q, 3))
	v.Invalidate("t", "c")
	_, err = v.Search(context.Background(), "t", "c", q, 5, load)
	require.NoError(t, err)
	require.Equal(t, 2, loads)
}

func ids(hs []index.Hit) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.ID
	}
	return out
}

// TestLexicalGenerationAndCleanup: an index records the collection state
// it holds across a reopen, and the directories of tenants that are gone
// are deleted while the others stay.
func TestLexicalGenerationAndCleanup(t *testing.T) {
	dir := t.TempDir()
	keys := index.NewTestKeys(t)
	l := index.NewKeyedLexical(dir, keys)
	g, err := l.Generation("a", "kb")
	require.NoError(t, err)
	require.Empty(t, g, "no index: nothing recorded")
	require.NoError(t, l.Index("a", "kb", []index.Entry{{ID: "d:0", Text: "alpha"}}))
	require.NoError(t, l.SetGeneration("a", "kb", "17.3"))
	require.NoError(t, l.Index("b", "kb", []index.Entry{{ID: "d:0", Text: "beta"}}))
	require.NoError(t, l.Close())

	l = index.NewKeyedLexical(dir, keys)
	g, err = l.Generation("a", "kb")
	require.NoError(t, err)
	require.Equal(t, "17.3", g, "kept across a reopen")
	require.NoError(t, l.Close())

	n, err := l.DropOtherTenants([]string{"a"})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	_, err = os.Stat(l.TenantDir("b"))
	require.ErrorIs(t, err, os.ErrNotExist, "b's index is gone")
	hits, err := l.Search("a", "kb", "alpha", 5)
	require.NoError(t, err)
	require.Len(t, hits, 1, "a's index stays")
}

// TestMatrixTopKMatchesDot: the column-blocked exact search scores every
// row as the plain dot product, whatever the number of non-zero query
// dimensions (blocks of four and the remainder).
func TestMatrixTopKMatchesDot(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const dims, rows = 24, 300
	entries := make([]index.VectorEntry, rows)
	for i := range entries {
		v := make([]float32, dims)
		for d := range v {
			v[d] = r.Float32()
		}
		entries[i] = index.VectorEntry{ID: fmt.Sprint(i), Vec: v}
	}
	m := index.NewMatrix(entries)
	for nonzero := 1; nonzero <= 9; nonzero++ {
		q := make([]float32, dims)
		for _, d := range r.Perm(dims)[:nonzero] {
			q[d] = r.Float32()
		}
		hits := m.TopK(q, rows)
		require.Len(t, hits, rows)
		for _, h := range hits {
			var want float64
			for d, w := range q {
				want += float64(w) * float64(entries[atoi(t, h.ID)].Vec[d])
			}
			require.InDelta(t, want, h.Score, 1e-4, "%d non-zero dimensions, row %s", nonzero, h.ID)
		}
		for i := 1; i < len(hits); i++ {
			require.GreaterOrEqual(t, hits[i-1].Score, hits[i].Score)
		}
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	require.NoError(t, err)
	return n
}
