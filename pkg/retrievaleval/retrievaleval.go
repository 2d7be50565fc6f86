package retrievaleval

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// Question is one labelled query.
type Question struct {
	ID       string   `json:"id"`
	Question string   `json:"question"`
	Relevant []string `json:"relevant"`
	// Passages, when given, make the question one about passages rather
	// than documents: quotes (one sentence or part of one, white space
	// free to differ) of the relevant documents, and a search result is
	// relevant when it is of a relevant document and contains a quote
	// (see ScoreQuestion).
	Passages []string `json:"passages,omitempty"`
}

// Load reads a JSON Lines question set; blank lines are skipped. Every
// question needs an id (unique), a question and at least one relevant
// document.
func Load(r io.Reader) ([]Question, error) {
	var out []Question
	seen := map[string]bool{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		b := strings.TrimSpace(sc.Text())
		if b == "" {
			continue
		}
		var q Question
		dec := json.NewDecoder(strings.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&q); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		switch {
		case q.ID == "":
			return nil, fmt.Errorf("line %d: id is required", line)
		case seen[q.ID]:
			return nil, fmt.Errorf("line %d: duplicate id %q", line, q.ID)
		case strings.TrimSpace(q.Question) == "":
			return nil, fmt.Errorf("line %d: question is required", line)
		case len(q.Relevant) == 0:
			return nil, fmt.Errorf("line %d: relevant needs at least one document", line)
		case slices.ContainsFunc(q.Passages, func(p string) bool { return Squeeze(p) == "" }):
			return nil, fmt.Errorf("line %d: a passage quote is blank", line)
		}
		seen[q.ID] = true
		out = append(out, q)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New("the question set is empty")
	}
	return out, nil
}

// Result is one search result as the scorer sees it.
type Result struct {
	DocumentID, Source string
	// Text is the passage's text (needed only for questions with
	// Passages).
	Text string
}

// Matches reports whether r is the document named by a relevant entry.
func (r Result) Matches(entry string) bool {
	return entry != "" && (r.DocumentID == entry || r.Source == entry || strings.HasSuffix(r.Source, "/"+entry))
}

// Documents reduces passages (best first, several per document) to the
// ranking of distinct documents, in order of their first passage.
func Documents(passages []Result) []Result {
	seen := map[string]bool{}
	var out []Result
	for _, p := range passages {
		key := p.DocumentID
		if key == "" {
			key = "source:" + p.Source
		}
		if !seen[key] {
			seen[key] = true
			out = append(out, p)
		}
	}
	return out
}

// Scores are one question's metrics.
type Scores struct {
	// Recall maps k to |relevant ∩ top k documents| / |relevant|.
	Recall map[int]float64
	// MRR10 is 1/rank of the first relevant document within the top 10
	// (0 when none).
	MRR10 float64
	// NDCG10 is the normalised discounted cumulative gain at 10 with
	// binary relevance.
	NDCG10 float64
	// FirstRank is the 1-based rank of the first relevant document (0:
	// not found in the ranking).
	FirstRank int
}

// Score computes the metrics of one ranking of documents for recall at
// each of ks.
func Score(ranking []Result, relevant []string, ks []int) Scores {
	return score(len(ranking), len(relevant), ks, func(i int) bool {
		return slices.ContainsFunc(relevant, ranking[i].Matches)
	}, func(k int) int {
		// distinct relevant entries found within the first k
		n := 0
		for _, e := range relevant {
			if slices.ContainsFunc(ranking[:min(k, len(ranking))], func(r Result) bool { return r.Matches(e) }) {
				n++
			}
		}
		return n
	})
}

// ScoreQuestion scores a search's passages (best first) for q: a
// question without Passages by the ranking of distinct documents (Score),
// one with Passages by the passages themselves: a passage is relevant when
// it is of a relevant document and contains one of the quotes, recall@k is
// the share of the quotes found in the first k passages, and MRR and nDCG
// count relevant passages.
func ScoreQuestion(passages []Result, q Question, ks []int) Scores {
	if len(q.Passages) == 0 {
		return Score(Documents(passages), q.Relevant, ks)
	}
	quotes := make([]string, len(q.Passages))
	for i, p := range q.Passages {
		quotes[i] = Squeeze(p)
	}
	// has[i][j]: passage i answers quote j
	has := make([][]bool, len(passages))
	for i, p := range passages {
		if !slices.ContainsFunc(q.Relevant, p.Matches) {
			continue
		}
		text := Squeeze(p.Text)
		has[i] = make([]bool, len(quotes))
		for j, quote := range quotes {
			has[i][j] = strings.Contains(text, quote)
		}
	}
	return score(len(passages), len(quotes), ks, func(i int) bool {
		return slices.Contains(has[i], true)
	}, func(k int) int {
		n := 0
		for j := range quotes {
			if slices.ContainsFunc(has[:min(k, len(has))], func(h []bool) bool { return h != nil && h[j] }) {
				n++
			}
		}
		return n
	})
}

// Squeeze is s with its runs of white space made one space and none
// around it: how passages and quotes are compared (chunks squeeze the
// white space of their sentences, a quote may be copied across a line
// break).
func Squeeze(s string) string { return strings.Join(strings.Fields(s), " ") }

// score computes the metrics of a ranking of n results of which rel says
// which are relevant, found(k) how many of the nrel relevant items the
// first k results hold.
func score(n, nrel int, ks []int, rel func(i int) bool, found func(k int) int) Scores {
	s := Scores{Recall: map[int]float64{}}
	for _, k := range ks {
		s.Recall[k] = float64(found(k)) / float64(nrel)
	}
	var dcg, idcg float64
	for i := range n {
		if !rel(i) {
			continue
		}
		if s.FirstRank == 0 {
			s.FirstRank = i + 1
			if i < 10 {
				s.MRR10 = 1 / float64(i+1)
			}
		}
		if i < 10 {
			dcg += 1 / math.Log2(float64(i+2))
		}
	}
	for i := range min(10, nrel) {
		idcg += 1 / math.Log2(float64(i+2))
	}
	if idcg > 0 {
		s.NDCG10 = dcg / idcg
	}
	return s
}

// Summary is the mean of each metric over a set.
type Summary struct {
	Questions int
	Recall    map[int]float64
	MRR10     float64
	NDCG10    float64
}

// Summarize averages scores.
func Summarize(all []Scores, ks []int) Summary {
	sum := Summary{Questions: len(all), Recall: map[int]float64{}}
	if len(all) == 0 {
		return sum
	}
	for _, s := range all {
		for _, k := range ks {
			sum.Recall[k] += s.Recall[k]
		}
		sum.MRR10 += s.MRR10
		sum.NDCG10 += s.NDCG10
	}
	n := float64(len(all))
	for _, k := range ks {
		sum.Recall[k] /= n
	}
	sum.MRR10 /= n
	sum.NDCG10 /= n
	return sum
}

// String formats a summary on one line, e.g.
// "questions=68 recall@1=0.53 recall@5=0.81 recall@10=0.88 mrr@10=0.64 ndcg@10=0.68".
func (s Summary) String() string {
	ks := make([]int, 0, len(s.Recall))
	for k := range s.Recall {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	var b strings.Builder
	fmt.Fprintf(&b, "questions=%d", s.Questions)
	for _, k := range ks {
		fmt.Fprintf(&b, " recall@%d=%.3f", k, s.Recall[k])
	}
	fmt.Fprintf(&b, " mrr@10=%.3f ndcg@10=%.3f", s.MRR10, s.NDCG10)
	return b.String()
}
