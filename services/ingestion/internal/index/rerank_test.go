package index_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/ingestion/internal/index"
)

// TestQueryTerms: a query's distinct analysed terms (stop words out,
// stemmed, in order) with their BM25 idf in the collection; 0 for a term
// no live chunk holds, and every idf 0 without an index.
func TestQueryTerms(t *testing.T) {
	l := index.NewKeyedLexical(t.TempDir(), index.NewTestKeys(t))
	t.Cleanup(func() { _ = l.Close() })
	none, err := l.QueryTerms("t", "kb", "How are keys rotated?")
	require.NoError(t, err)
	require.Equal(t, []index.QueryTerm{{Term: "kei"}, {Term: "rotat"}}, none, "no index yet")
	require.NoError(t, l.Index("t", "kb", []index.Entry{
		{ID: "1", Text: "A key may rotate itself."},
		{ID: "2", Text: "Keys are shown once."},
		{ID: "3", Text: "Tenants are isolated."},
		{ID: "4", Text: "Budgets are monthly."},
	}))
	got, err := l.QueryTerms("t", "kb", "How are keys rotated, keys and secrets?")
	require.NoError(t, err)
	idf := func(n, df float64) float64 { return math.Log(1 + (n-df+0.5)/(df+0.5)) }
	require.Len(t, got, 3)
	require.Equal(t, []string{"kei", "rotat", "secret"}, []string{got[0].Term, got[1].Term, got[2].Term})
	require.InDelta(t, idf(4, 2), got[0].IDF, 1e-12)
	require.InDelta(t, idf(4, 1), got[1].IDF, 1e-12)
	require.Zero(t, got[2].IDF, "no chunk holds secret")
	require.NoError(t, l.Delete("t", "kb", []string{"1"}))
	got, err = l.QueryTerms("t", "kb", "rotate")
	require.NoError(t, err)
	require.Zero(t, got[0].IDF, "the only chunk with rotate is deleted")
}

// TestTermPositions: word positions (stop words counted) of each term,
// as the index analyses the text.
func TestTermPositions(t *testing.T) {
	got := index.TermPositions("A key may rotate itself; rotated keys expire.", []string{"kei", "rotat", "secret"})
	require.Equal(t, [][]int{{2, 7}, {4, 6}, nil}, got)
}

// TestTermPositionsMatchAnalyze: the positions are those of the index's
// analyser, on ASCII, Unicode, stop words and invalid UTF-8.
func TestTermPositionsMatchAnalyze(t *testing.T) {
	for _, text := range []string{
		"A key may rotate itself; rotated keys expire.",
		"Schlüssel rotieren: the KEY's rotation, ÉCOLE école Σ ΣΑΣ",
		"the and of to in", "",
		"bad \xff utf8 key rotate",
	} {
		want := index.AnalyzedTerms(text)
		terms := []string{}
		seen := map[string]bool{}
		for _, tok := range want {
			if !seen[tok.Term] {
				seen[tok.Term] = true
				terms = append(terms, tok.Term)
			}
		}
		got := index.TermPositions(text, append(terms, "absent"))
		byTerm := map[string][]int{}
		for _, tok := range want {
			byTerm[tok.Term] = append(byTerm[tok.Term], tok.Position)
		}
		for i, term := range terms {
			require.Equal(t, byTerm[term], got[i], "%q: %q", text, term)
		}
		require.Nil(t, got[len(terms)], "%q: a term not in the text", text)
	}
}
