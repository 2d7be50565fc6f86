package e2e

import (
	"encoding/json"
	"hash/fnv"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeEmbeddings is an OpenAI-compatible embeddings upstream (POST
// /v1/embeddings, OpenAI's request and response JSON) whose model maps
// synonyms to one concept, so vector search finds what BM25 cannot.
type fakeEmbeddings struct {
	down     atomic.Bool
	requests atomic.Int64
}

func (f *fakeEmbeddings) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/embeddings" {
		http.NotFound(w, r)
		return
	}
	f.requests.Add(1)
	if f.down.Load() {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"error":{"message":"overloaded","type":"server_error"}}`))
		return
	}
	var req struct {
		Model string          `json:"model"`
		Input json.RawMessage `json:"input"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var inputs []string
	if err := json.Unmarshal(req.Input, &inputs); err != nil {
		var one string
		if err := json.Unmarshal(req.Input, &one); err != nil {
			http.Error(w, "input", http.StatusBadRequest)
			return
		}
		inputs = []string{one}
	}
	type item struct {
		Object    string    `json:"object"`
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	}
	out := struct {
		Object string `json:"object"`
		Data   []item `json:"data"`
		Model  string `json:"model"`
		Usage  struct {
			PromptTokens int `json:"prompt_tokens"`
			TotalTokens  int `json:"total_tokens"`
		} `json:"usage"`
	}{Object: "list", Model: req.Model}
	for i, in := range inputs {
		out.Data = append(out.Data, item{Object: "embedding", Index: i, Embedding: conceptEmbedding(in)})
		out.Usage.PromptTokens += len(strings.Fields(in))
	}
	out.Usage.TotalTokens = out.Usage.PromptTokens
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

var conceptSynonyms = map[string]string{"automobile": "car", "vehicle": "car", "cars": "car"}

func conceptEmbedding(text string) []float32 {
	const dims = 48
	v := make([]float32, dims)
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return r < 'a' || r > 'z' }) {
		if c, ok := conceptSynonyms[w]; ok {
			w = c
		}
		h := fnv.New32a()
		_, _ = h.Write([]byte(w))
		v[h.Sum32()%dims]++
	}
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	for i := range v {
		if n > 0 {
			v[i] /= float32(math.Sqrt(n))
		}
	}
	return v
}

type e2eSearch struct {
	Passages []struct {
		Text   string `json:"text"`
		Source string `json:"source"`
	} `json:"passages"`
	Warning string `json:"warning"`
}

// TestEmbeddingModelsThroughStack: a stack whose inference registry has an
// OpenAI-compatible embedding upstream; a collection with that model is
// embedded through inference (usage on the tenant), searched with the same
// model, re-embedded from hashing by a job, degrades to lexical with a
// warning while the upstream is down (its job fails with the reason and
// retries), and no document text is on disk in plaintext.
func TestEmbeddingModelsThroughStack(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a stack of its own")
	}
	up := &fakeEmbeddings{}
	srv := httptest.NewServer(up)
	t.Cleanup(srv.Close)
	registry := filepath.Join(t.TempDir(), "models.json")
	require.NoError(t, os.WriteFile(registry, []byte(`{
  "upstreams": {"embedder": {"type": "openai", "base_url": "`+srv.URL+`/v1", "timeout": "5s", "max_retries": 0}},
  "models": [
    {"id": "rampart-extractive", "upstream": "local", "owned_by": "rampart"},
    {"id": "echo", "upstream": "local", "owned_by": "rampart"},
    {"id": "rampart-hash-embed", "kind": "embedding", "upstream": "local", "owned_by": "rampart", "max_dimensions": 4096},
    {"id": "semantic-embed", "kind": "embedding", "upstream": "embedder"}
  ],
  "default": {"allowed_models": ["rampart-extractive", "echo", "rampart-hash-embed", "semantic-embed"]}
}`), 0o600))
	s, err := launchEnv("RAMPART_INFERENCE_MODELS="+registry, "RAMPART_INGESTION_EMBED_RETRY_DELAY=1s")
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = s.stop()
		_ = os.RemoveAll(s.dir)
	})
	admin := s.env["RAMPART_ADMIN_KEY"]
	const carDoc = "# Fleet\n\nEvery car in the company fleet is serviced each spring by the Thistlewaite garage in Brackenridge."
	const lunchDoc = "# Lunch\n\nThe lunch menu changes weekly and is posted near the kitchen door."

	var created struct {
		Collection struct {
			EmbeddingModel      string `json:"embedding_model"`
			EmbeddingDimensions int    `json:"embedding_dimensions"`
		} `json:"collection"`
	}
	status, body := rawDo(t, http.MethodPost, s.baseURL+"/v1/collections", admin, map[string]any{"name": "fleet", "embedding_model": "semantic-embed"})
	require.Equal(t, http.StatusOK, status, string(body))
	require.NoError(t, json.Unmarshal(body, &created))
	require.Equal(t, "semantic-embed", created.Collection.EmbeddingModel)
	require.Equal(t, 48, created.Collection.EmbeddingDimensions)
	status, body = rawDo(t, http.MethodPost, s.baseURL+"/v1/collections", admin, map[string]any{"name": "nope", "embedding_model": "gpt-unknown"})
	require.Equal(t, http.StatusBadRequest, status, string(body))
	require.Contains(t, string(body), "embedding_model")

	ingestAndWait(t, s, admin, "fleet", "fleet.md", carDoc)
	ingestAndWait(t, s, admin, "fleet", "lunch.md", lunchDoc)
	var res e2eSearch
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/search", admin,
		map[string]any{"collection": "fleet", "query": "automobile", "top_k": 1, "mode": "SEARCH_MODE_VECTOR"}, &res))
	require.Empty(t, res.Warning)
	require.Len(t, res.Passages, 1)
	require.Equal(t, "fleet.md", res.Passages[0].Source)

	// Usage of the embedding model is the tenant's.
	var usage struct {
		Buckets []struct {
			Group        string `json:"group"`
			PromptTokens string `json:"prompt_tokens"`
		} `json:"buckets"`
	}
	require.Equal(t, http.StatusOK, do(t, http.MethodGet, s.baseURL+"/v1/usage?group_by=model", admin, nil, &usage))
	found := false
	for _, b := range usage.Buckets {
		found = found || b.Group == "semantic-embed"
	}
	require.True(t, found, "usage by model: %+v", usage.Buckets)

	// Re-embed a hash collection with the model.
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/collections", admin, map[string]any{"name": "kb"}, nil))
	ingestAndWait(t, s, admin, "kb", "fleet.md", carDoc)
	ingestAndWait(t, s, admin, "kb", "lunch.md", lunchDoc)
	var patched struct {
		Job ingestJob `json:"job"`
	}
	require.Equal(t, http.StatusOK, do(t, http.MethodPatch, s.baseURL+"/v1/collections/kb", admin, map[string]any{"embedding_model": "semantic-embed"}, &patched))
	require.NotEmpty(t, patched.Job.ID)
	job := waitJob(t, s, admin, patched.Job.ID)
	require.Equal(t, "JOB_STATE_SUCCEEDED", job.State)
	require.Positive(t, job.ChunksTotal)
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/search", admin,
		map[string]any{"collection": "kb", "query": "automobile", "top_k": 1, "mode": "SEARCH_MODE_VECTOR"}, &res))
	require.Equal(t, "fleet.md", res.Passages[0].Source)

	// Canary: no document text, words or terms in plaintext on disk after
	// re-embedding.
	requireSealedAtRest(t, s,
		[]string{"car in the company fleet", "lunch menu changes weekly"},
		[]string{"thistlewaite", "thistlewait", "brackenridge", "brackenridg"})

	// A narrow key (search only, one chat model, 1 token per minute; ADR
	// 0106) searches the admin's collection, whose model is not in its
	// list: the query is embedded within the key's own TPM, and once that
	// is spent the search is the usual 429 naming the key's limit, not
	// keyword results.
	narrow := mustKey(t, s, admin, map[string]any{"name": "narrow-search", "scopes": []string{"ingest:read"},
		"allowed_models": []string{"echo"}, "limits": map[string]any{"tokens_per_minute": 1}})
	query := map[string]any{"collection": "fleet", "query": "automobile", "top_k": 1, "mode": "SEARCH_MODE_VECTOR"}
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/search", narrow.APIKey, query, &res))
	require.Empty(t, res.Warning)
	require.Equal(t, "fleet.md", res.Passages[0].Source)
	require.Eventually(t, func() bool {
		status, body = rawDo(t, http.MethodPost, s.baseURL+"/v1/search", narrow.APIKey, query)
		return status == http.StatusTooManyRequests
	}, 10*time.Second, 100*time.Millisecond, "the key's TPM is spent")
	require.Contains(t, string(body), `"rate_limit_exceeded"`)
	require.Contains(t, string(body), "on this API key")
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/search", admin, query, &res), "the key's limit, not the tenant's")

	// Upstream down: search degrades to lexical with a warning (never a
	// 500); a new document's job fails with the reason and retries.
	up.down.Store(true)
	status, body = rawDo(t, http.MethodPost, s.baseURL+"/v1/search", admin, map[string]any{"collection": "fleet", "query": "where is the lunch menu posted"})
	require.Equal(t, http.StatusOK, status, string(body))
	require.NoError(t, json.Unmarshal(body, &res))
	require.Contains(t, res.Warning, "semantic-embed")
	require.Equal(t, "lunch.md", res.Passages[0].Source)

	var ing struct {
		Job ingestJob `json:"job"`
	}
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/collections/fleet/documents", admin,
		map[string]any{"content": []byte("# Parking\n\nVisitors park in lot B."), "source": "parking.md", "content_type": "text/markdown"}, &ing))
	var failed struct {
		Job struct {
			State string `json:"state"`
			Error string `json:"error"`
		} `json:"job"`
	}
	require.Eventually(t, func() bool {
		return do(t, http.MethodGet, s.baseURL+"/v1/ingest/jobs/"+ing.Job.ID, admin, nil, &failed) == http.StatusOK && failed.Job.State == "JOB_STATE_FAILED"
	}, 60*time.Second, 100*time.Millisecond)
	require.Contains(t, failed.Job.Error, "embedding model unavailable")
	up.down.Store(false)
	require.Equal(t, "JOB_STATE_SUCCEEDED", waitJob(t, s, admin, ing.Job.ID).State, "the job retries after the upstream is back")
}

// waitJob polls a job until it succeeds or the bound passes.
func waitJob(t *testing.T, s *stack, key, id string) ingestJob {
	t.Helper()
	var job struct {
		Job ingestJob `json:"job"`
	}
	for range 600 {
		require.Equal(t, http.StatusOK, do(t, http.MethodGet, s.baseURL+"/v1/ingest/jobs/"+id, key, nil, &job))
		if job.Job.State == "JOB_STATE_SUCCEEDED" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return job.Job
}
