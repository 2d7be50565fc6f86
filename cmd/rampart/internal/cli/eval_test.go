package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestEvalRetrieval runs the command against a fake edge that answers
// /v1/search like the real one (snake_case JSON, passages best first)
// and checks the metrics it prints.
func TestEvalRetrieval(t *testing.T) {
	var modes []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "/v1/search", r.URL.Path)
		require.Equal(t, "Bearer test-key", r.Header.Get("Authorization"))
		var req struct {
			Collection, Query, Mode string
			TopK                    int `json:"top_k"`
		}
		require.NoError(t, json.NewDecoder(r.Body).Decode(&req))
		require.Equal(t, "gitdoc", req.Collection)
		require.Equal(t, 50, req.TopK)
		modes = append(modes, req.Mode)
		// q1's page comes first, q2's third (after two passages of one
		// other page and one of another), q3's never.
		answers := map[string]string{
			"stash changes": `{"passages":[{"document_id":"d1","source":"git-stash.html"},{"document_id":"d1","source":"git-stash.html"}]}`,
			"bisect":        `{"passages":[{"document_id":"d2","source":"a.html"},{"document_id":"d2","source":"a.html"},{"document_id":"d3","source":"b.html"},{"document_id":"d4","source":"/x/git-bisect.html"}]}`,
			"nothing":       `{"passages":[]}`,
			// q4 quotes its answer: the second passage holds it
			"rotate": `{"passages":[{"document_id":"d5","source":"docs/security.md","text":"| POST /v1/keys/{key_id}:rotate | keys:write |"},{"document_id":"d5","source":"docs/security.md","text":"Self-rotation. A key may rotate itself."}]}`,
		}
		_, _ = w.Write([]byte(answers[req.Query]))
	}))
	defer srv.Close()
	t.Setenv("RAMPART_URL", srv.URL)
	t.Setenv("RAMPART_ADMIN_KEY", "test-key")
	set := filepath.Join(t.TempDir(), "set.jsonl")
	require.NoError(t, os.WriteFile(set, []byte(`{"id":"q1","question":"stash changes","relevant":["git-stash.html"]}
{"id":"q2","question":"bisect","relevant":["git-bisect.html"]}
{"id":"q3","question":"nothing","relevant":["git-log.html"]}
{"id":"q4","question":"rotate","relevant":["security.md"],"passages":["A key may rotate itself"]}
`), 0o600))

	var out bytes.Buffer
	root := newRoot(&out, &out)
	root.SetArgs([]string{"eval", "retrieval", "--collection", "gitdoc", "--set", set, "--mode", "all", "-v"})
	require.NoError(t, root.ExecuteContext(context.Background()))
	require.Equal(t, []string{"SEARCH_MODE_HYBRID", "SEARCH_MODE_HYBRID", "SEARCH_MODE_HYBRID", "SEARCH_MODE_HYBRID", "SEARCH_MODE_LEXICAL", "SEARCH_MODE_LEXICAL", "SEARCH_MODE_LEXICAL", "SEARCH_MODE_LEXICAL",
		"SEARCH_MODE_VECTOR", "SEARCH_MODE_VECTOR", "SEARCH_MODE_VECTOR", "SEARCH_MODE_VECTOR"}, modes)
	// recall@1 = 1/4, recall@5 = 3/4 (q4 by its passage: rank 2, not its
	// document's rank 1), MRR = (1 + 1/3 + 1/2)/4 = 0.458
	require.Contains(t, out.String(), "hybrid   questions=4 recall@1=0.250 recall@5=0.750 recall@10=0.750 mrr@10=0.458")
	require.Contains(t, out.String(), "lexical  questions=4")
	require.Contains(t, out.String(), "miss q3 (first relevant at rank 0")
	require.NotContains(t, out.String(), "miss q2", "rank 3 is within the top 5")

	for _, bad := range [][]string{
		{"eval", "retrieval", "--set", set},
		{"eval", "retrieval", "--collection", "c", "--set", set, "--mode", "bm25"},
		{"eval", "retrieval", "--collection", "c", "--set", set, "--k", "0"},
		{"eval", "retrieval", "--collection", "c", "--set", set, "--top-k", "5"},
		{"eval", "retrieval", "--collection", "c", "--set", filepath.Join(t.TempDir(), "missing.jsonl")},
	} {
		root := newRoot(&out, &out)
		root.SetArgs(bad)
		require.Error(t, root.ExecuteContext(context.Background()), strings.Join(bad, " "))
	}
}
