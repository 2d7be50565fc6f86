package retrievaleval_test

import (
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/retrievaleval"
)

func TestScore(t *testing.T) {
	r := func(srcs ...string) []retrievaleval.Result {
		out := make([]retrievaleval.Result, len(srcs))
		for i, s := range srcs {
			out[i] = retrievaleval.Result{DocumentID: "d-" + s, Source: "/usr/share/doc/" + s}
		}
		return out
	}
	ks := []int{1, 5, 10}
	for _, tc := range []struct {
		name      string
		ranking   []retrievaleval.Result
		relevant  []string
		recall    map[int]float64
		mrr, ndcg float64
	}{
		{"first", r("a", "b", "c"), []string{"a"}, map[int]float64{1: 1, 5: 1, 10: 1}, 1, 1},
		{"third", r("x", "y", "a"), []string{"a"}, map[int]float64{1: 0, 5: 1, 10: 1}, 1.0 / 3, 0.5},
		{"missing", r("x", "y"), []string{"a"}, map[int]float64{1: 0, 5: 0, 10: 0}, 0, 0},
		{"eleventh", r("1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "a"), []string{"a"}, map[int]float64{1: 0, 5: 0, 10: 0}, 0, 0},
		{"two relevant, one found", r("x", "b"), []string{"a", "b"}, map[int]float64{1: 0, 5: 0.5, 10: 0.5}, 0.5, (1 / math.Log2(3)) / (1 + 1/math.Log2(3))},
		{"by document id", []retrievaleval.Result{{DocumentID: "doc_1"}}, []string{"doc_1"}, map[int]float64{1: 1, 5: 1, 10: 1}, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := retrievaleval.Score(tc.ranking, tc.relevant, ks)
			for k, want := range tc.recall {
				require.InDelta(t, want, s.Recall[k], 1e-9, "recall@%d", k)
			}
			require.InDelta(t, tc.mrr, s.MRR10, 1e-9)
			require.InDelta(t, tc.ndcg, s.NDCG10, 1e-9)
		})
	}
	sum := retrievaleval.Summarize([]retrievaleval.Scores{
		retrievaleval.Score(r("a"), []string{"a"}, ks), retrievaleval.Score(r("x"), []string{"a"}, ks),
	}, ks)
	require.InDelta(t, 0.5, sum.Recall[5], 1e-9)
	require.Contains(t, sum.String(), "questions=2 recall@1=0.500 recall@5=0.500 recall@10=0.500 mrr@10=0.500")
}

func TestDocumentsAndMatch(t *testing.T) {
	ps := []retrievaleval.Result{{DocumentID: "d1", Source: "x/a.html"}, {DocumentID: "d1", Source: "x/a.html"}, {DocumentID: "d2", Source: "b.html"}}
	docs := retrievaleval.Documents(ps)
	require.Len(t, docs, 2)
	require.True(t, docs[0].Matches("a.html"))
	require.False(t, docs[0].Matches("xa.html"), "a suffix matches whole path components only")
	require.True(t, docs[1].Matches("b.html"))
	require.False(t, docs[1].Matches(""))
}

func TestLoad(t *testing.T) {
	qs, err := retrievaleval.Load(strings.NewReader("{\"id\":\"a\",\"question\":\"q?\",\"relevant\":[\"x\"]}\n\n"))
	require.NoError(t, err)
	require.Len(t, qs, 1)
	for _, bad := range []string{
		"", "{}", `{"id":"a","question":"q","relevant":[]}`, `{"id":"a","question":" ","relevant":["x"]}`,
		`{"id":"a","question":"q","relevant":["x"],"extra":1}`, `{"id":"a","question":"q","relevant":["x"],"passages":[" "]}`,
		"{\"id\":\"a\",\"question\":\"q\",\"relevant\":[\"x\"]}\n{\"id\":\"a\",\"question\":\"q\",\"relevant\":[\"x\"]}", "not json",
	} {
		_, err := retrievaleval.Load(strings.NewReader(bad))
		require.Error(t, err, bad)
	}
}

// TestScoreQuestionPassages: a question with passages is scored on the
// passages that contain a quote (white space free to differ) and are of
// a relevant document; one without on the documents.
func TestScoreQuestionPassages(t *testing.T) {
	ks := []int{1, 3}
	q := retrievaleval.Question{ID: "p", Question: "how?", Relevant: []string{"security.md"}, Passages: []string{"A key may\n  rotate itself", "never revives"}}
	p := func(src, text string) retrievaleval.Result {
		return retrievaleval.Result{DocumentID: "d-" + src, Source: "docs/" + src, Text: text}
	}
	for _, tc := range []struct {
		name      string
		passages  []retrievaleval.Result
		recall    map[int]float64
		mrr, ndcg float64
		first     int
	}{
		{"table row first", []retrievaleval.Result{
			p("security.md", "| `POST /v1/keys/{key_id}:rotate` | keys:write |"),
			p("security.md", "Self-rotation. A key may rotate itself (ADR 0017)."),
			p("security.md", "Rotation never revives a key."),
		}, map[int]float64{1: 0, 3: 1}, 0.5, (1/math.Log2(3) + 1/math.Log2(4)) / (1 + 1/math.Log2(3)), 2},
		{"quote in another document does not count", []retrievaleval.Result{
			p("README.md", "A key may rotate itself"),
			p("security.md", "A key may rotate itself"),
		}, map[int]float64{1: 0, 3: 0.5}, 0.5, (1 / math.Log2(3)) / (1 + 1/math.Log2(3)), 2},
		{"none", []retrievaleval.Result{p("security.md", "keys")}, map[int]float64{1: 0, 3: 0}, 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := retrievaleval.ScoreQuestion(tc.passages, q, ks)
			for k, want := range tc.recall {
				require.InDelta(t, want, s.Recall[k], 1e-9, "recall@%d", k)
			}
			require.InDelta(t, tc.mrr, s.MRR10, 1e-9)
			require.InDelta(t, tc.ndcg, s.NDCG10, 1e-9)
			require.Equal(t, tc.first, s.FirstRank)
		})
	}
	// without passages: the documents' ranking
	q.Passages = nil
	s := retrievaleval.ScoreQuestion([]retrievaleval.Result{p("README.md", "x"), p("README.md", "y"), p("security.md", "z")}, q, ks)
	require.Equal(t, 2, s.FirstRank, "the second distinct document")
}
