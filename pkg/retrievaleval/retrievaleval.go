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
	rel := make([]bool, len(ranking))
	for i, r := range ranking {
		for _, e := range relevant {
			if r.Matches(e) {
				rel[i] = true
				break
			}
		}
	}
	s := Scores{Recall: map[int]float64{}}
	// distinct relevant entries found within the first k
	found := func(k int) int {
		n := 0
		for _, e := range relevant {
			for i := 0; i < min(k, len(ranking)); i++ {
				if ranking[i].Matches(e) {
					n++
					break
				}
			}
		}
		return n
	}
	for _, k := range ks {
		s.Recall[k] = float64(found(k)) / float64(len(relevant))
	}
	for i, ok := range rel {
		if ok {
			s.FirstRank = i + 1
			if i < 10 {
				s.MRR10 = 1 / float64(i+1)
			}
			break
		}
	}
	var dcg, idcg float64
	for i := 0; i < min(10, len(ranking)); i++ {
		if rel[i] {
			dcg += 1 / math.Log2(float64(i+2))
		}
	}
	for i := 0; i < min(10, len(relevant)); i++ {
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
