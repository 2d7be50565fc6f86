package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rampart-platform/rampart/cmd/rampart/internal/restclient"
	"github.com/rampart-platform/rampart/pkg/retrievaleval"
)

// evalModes maps --mode values to SearchRequest.mode.
var evalModes = map[string]string{
	"hybrid":  "SEARCH_MODE_HYBRID",
	"lexical": "SEARCH_MODE_LEXICAL",
	"vector":  "SEARCH_MODE_VECTOR",
}

func newEvalCmd(f *apiFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "eval", Short: "Measure quality against labelled sets"}
	var collection, set, modes, ks string
	var topK int
	var verbose bool
	retrieval := &cobra.Command{
		Use:   "retrieval --collection C --set FILE.jsonl",
		Short: "Score search on a labelled question set: recall@k, MRR@10, nDCG@10",
		Long: `Runs every question of a JSON Lines set ({"id","question","relevant":[document id or source]})
through POST /v1/search of the collection and reports recall@k, MRR@10 and nDCG@10
over the ranking of distinct documents (each ranked by its best passage); a
question that quotes its answer ("passages":[quote]) is scored on the passages
themselves (one of a relevant document containing a quote; pkg/retrievaleval).
--mode all compares hybrid search with BM25 alone and the vector ranking alone.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if collection == "" || set == "" {
				return fmt.Errorf("--collection and --set are required")
			}
			kList, err := parseKs(ks)
			if err != nil {
				return err
			}
			if topK < 10 || topK > 50 {
				return fmt.Errorf("--top-k must be 10-50 (MRR and nDCG are at 10)")
			}
			var run []string
			if modes == "all" {
				run = []string{"hybrid", "lexical", "vector"}
			} else {
				for _, m := range strings.Split(modes, ",") {
					if _, ok := evalModes[m]; !ok {
						return fmt.Errorf("--mode: %q is not hybrid, lexical, vector or all", m)
					}
					run = append(run, m)
				}
			}
			fh, err := os.Open(set) //nolint:gosec // G304: the operator names the set file
			if err != nil {
				return err
			}
			qs, err := retrievaleval.Load(fh)
			_ = fh.Close()
			if err != nil {
				return fmt.Errorf("%s: %w", set, err)
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for _, m := range run {
				sum, err := evalRetrieval(cmd, c, collection, evalModes[m], topK, qs, kList, verbose, out)
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "%-8s %s\n", m, sum)
			}
			return nil
		},
	}
	retrieval.Flags().StringVar(&collection, "collection", "", "collection to search (required)")
	retrieval.Flags().StringVar(&set, "set", "", "question set, JSON Lines (required)")
	retrieval.Flags().StringVar(&modes, "mode", "hybrid", "hybrid, lexical, vector (comma-separated) or all")
	retrieval.Flags().StringVar(&ks, "k", "1,5,10", "cut-offs for recall@k")
	retrieval.Flags().IntVar(&topK, "top-k", 50, "passages requested per question (10-50)")
	retrieval.Flags().BoolVarP(&verbose, "verbose", "v", false, "print each question whose relevant document is not in the top 5")
	cmd.AddCommand(retrieval)
	return cmd
}

func parseKs(s string) ([]int, error) {
	var out []int
	for _, p := range strings.Split(s, ",") {
		k, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || k < 1 || k > 50 {
			return nil, fmt.Errorf("--k: %q is not a cut-off between 1 and 50", p)
		}
		out = append(out, k)
	}
	return out, nil
}

// searchAnswer is the part of POST /v1/search's answer the scorer reads.
type searchAnswer struct {
	Passages []struct {
		DocumentID string `json:"document_id"`
		Source     string `json:"source"`
		Text       string `json:"text"`
	} `json:"passages"`
}

func evalRetrieval(cmd *cobra.Command, c *restclient.Client, collection, mode string, topK int, qs []retrievaleval.Question, ks []int, verbose bool, out io.Writer) (retrievaleval.Summary, error) {
	all := make([]retrievaleval.Scores, 0, len(qs))
	for _, q := range qs {
		body := map[string]any{"collection": collection, "query": q.Question, "top_k": topK, "mode": mode}
		raw, err := c.Do(cmd.Context(), http.MethodPost, "/v1/search", nil, body)
		if err != nil {
			return retrievaleval.Summary{}, fmt.Errorf("question %s: %w", q.ID, err)
		}
		var ans searchAnswer
		if err := json.Unmarshal(raw, &ans); err != nil {
			return retrievaleval.Summary{}, fmt.Errorf("question %s: unreadable answer: %w", q.ID, err)
		}
		rs := make([]retrievaleval.Result, len(ans.Passages))
		for i, p := range ans.Passages {
			rs[i] = retrievaleval.Result{DocumentID: p.DocumentID, Source: p.Source, Text: p.Text}
		}
		s := retrievaleval.ScoreQuestion(rs, q, ks)
		if verbose && (s.FirstRank == 0 || s.FirstRank > 5) {
			fmt.Fprintf(out, "  miss %s (first relevant at rank %d; 0 = not found): %s\n", q.ID, s.FirstRank, q.Question)
		}
		all = append(all, s)
	}
	return retrievaleval.Summarize(all, ks), nil
}
