package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRAGVerbs(t *testing.T) {
	var got seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = seen{method: r.Method, path: r.URL.EscapedPath(), query: r.URL.RawQuery}
		data, _ := io.ReadAll(r.Body)
		got.body = nil
		if len(data) > 0 {
			require.NoError(t, json.Unmarshal(data, &got.body))
		}
		_, _ = io.WriteString(w, `{}`)
	}))
	defer srv.Close()
	t.Setenv("RAMPART_URL", srv.URL)
	t.Setenv("RAMPART_ADMIN_KEY", "test-key")
	tests := []struct {
		args   []string
		method string
		path   string
		body   map[string]any
	}{
		{[]string{"collection", "create", "handbook", "--description", "d"}, "POST", "/v1/collections", map[string]any{"name": "handbook", "description": "d"}},
		{[]string{"collection", "create", "kb", "--embedding-model", "text-embedding-3-small"}, "POST", "/v1/collections",
			map[string]any{"name": "kb", "description": "", "embedding_model": "text-embedding-3-small"}},
		{[]string{"collection", "set-model", "kb", "text-embedding-3-small"}, "PATCH", "/v1/collections/kb", map[string]any{"embedding_model": "text-embedding-3-small"}},
		{[]string{"collection", "list"}, "GET", "/v1/collections", nil},
		{[]string{"collection", "delete", "handbook"}, "DELETE", "/v1/collections/handbook", nil},
		{[]string{"doc", "list", "-c", "handbook"}, "GET", "/v1/collections/handbook/documents", nil},
		{[]string{"doc", "delete", "doc_1"}, "DELETE", "/v1/documents/doc_1", nil},
		{[]string{"doc", "add", "-c", "handbook", "https://example.com/a.html"}, "POST", "/v1/collections/handbook/documents", map[string]any{"url": "https://example.com/a.html"}},
		{[]string{"assistant", "create", "kb", "-c", "handbook", "-c", "it", "--system-prompt", "Be brief.", "-k", "6"}, "POST", "/v1/rampart/assistants",
			map[string]any{"name": "kb", "model": "rampart-extractive", "collections": []any{"handbook", "it"}, "system_prompt": "Be brief.", "top_k": float64(6), "min_score": float64(0), "description": ""}},
		{[]string{"assistant", "list"}, "GET", "/v1/rampart/assistants", nil},
		{[]string{"assistant", "get", "kb"}, "GET", "/v1/rampart/assistants/kb", nil},
		{[]string{"assistant", "delete", "kb"}, "DELETE", "/v1/rampart/assistants/kb", nil},
		{[]string{"search", "-c", "handbook", "-k", "3", "vpn", "rotation"}, "POST", "/v1/search", map[string]any{"collection": "handbook", "query": "vpn rotation", "top_k": float64(3)}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			root := newRoot(io.Discard, io.Discard)
			root.SetArgs(tt.args)
			require.NoError(t, root.ExecuteContext(context.Background()))
			require.Equal(t, tt.method, got.method)
			require.Equal(t, tt.path, got.path)
			require.Equal(t, tt.body, got.body)
		})
	}
}

func TestDocAddWaitsForTheJob(t *testing.T) {
	var mu sync.Mutex
	var bodies []map[string]any
	polls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.Method == http.MethodPost:
			var b map[string]any
			require.NoError(t, json.NewDecoder(r.Body).Decode(&b))
			bodies = append(bodies, b)
			_, _ = io.WriteString(w, `{"document":{"id":"doc_1"},"job":{"id":"job_1","state":"JOB_STATE_QUEUED"}}`)
		case r.URL.Path == "/v1/ingest/jobs/job_1":
			polls++
			if polls < 2 {
				_, _ = io.WriteString(w, `{"job":{"id":"job_1","state":"JOB_STATE_RUNNING","chunks_done":1,"chunks_total":2}}`)
				return
			}
			_, _ = io.WriteString(w, `{"job":{"id":"job_1","state":"JOB_STATE_SUCCEEDED","chunks_done":2,"chunks_total":2}}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	t.Setenv("RAMPART_URL", srv.URL)
	t.Setenv("RAMPART_ADMIN_KEY", "test-key")
	file := filepath.Join(t.TempDir(), "notes.md")
	require.NoError(t, os.WriteFile(file, []byte("# Notes\n\nhello"), 0o600))

	var out bytes.Buffer
	root := newRoot(&out, &out)
	root.SetIn(strings.NewReader("from stdin"))
	root.SetArgs([]string{"doc", "add", "-c", "handbook", "--wait", file, "-"})
	require.NoError(t, root.ExecuteContext(context.Background()))
	require.Len(t, bodies, 2)
	require.Equal(t, base64.StdEncoding.EncodeToString([]byte("# Notes\n\nhello")), bodies[0]["content"])
	require.Equal(t, "notes.md", bodies[0]["source"])
	require.Equal(t, "text/markdown", bodies[0]["content_type"])
	require.Equal(t, "stdin", bodies[1]["source"])
	require.NotContains(t, bodies[1], "content_type", "stdin is sniffed by ingestion")
	require.Contains(t, out.String(), "notes.md [##########..........] 1/2 chunks running")
	require.Contains(t, out.String(), "notes.md [####################] 2/2 chunks succeeded")
}

func TestChatStreamsAndKeepsTheConversation(t *testing.T) {
	var requests []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b map[string]any
		require.NoError(t, json.NewDecoder(r.Body).Decode(&b))
		requests = append(requests, b)
		w.Header().Set("Content-Type", "text/event-stream")
		for _, c := range []string{
			`{"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`,
			`{"choices":[{"index":0,"delta":{"content":"Every 45 "},"finish_reason":null}]}`,
			`{"choices":[{"index":0,"delta":{"content":"days [1]."},"finish_reason":null}]}`,
			`{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"rampart":{"citations":[{"index":1,"source":"vpn.md","title":"VPN","url":"https://wiki/vpn","quote":"q"}]}}`,
		} {
			_, _ = io.WriteString(w, "data: "+c+"\n\n")
		}
		_, _ = io.WriteString(w, "data: [DONE]\n\n")
	}))
	defer srv.Close()
	t.Setenv("RAMPART_URL", srv.URL)
	t.Setenv("RAMPART_ADMIN_KEY", "test-key")

	var out bytes.Buffer
	root := newRoot(&out, io.Discard)
	root.SetIn(strings.NewReader("How often?\nAnd why?\n"))
	root.SetArgs([]string{"chat", "-c", "handbook", "-k", "4"})
	require.NoError(t, root.ExecuteContext(context.Background()))
	require.Contains(t, out.String(), "Every 45 days [1].\nSources:\n  [1] VPN — vpn.md <https://wiki/vpn>\n")
	require.Len(t, requests, 2)
	require.Equal(t, map[string]any{"collections": []any{"handbook"}, "top_k": float64(4)}, requests[1]["rampart"])
	require.Equal(t, true, requests[1]["stream"])
	msgs, _ := requests[1]["messages"].([]any)
	require.Len(t, msgs, 3, "the follow-up carries the conversation")
	require.Equal(t, map[string]any{"role": "assistant", "content": "Every 45 days [1]."}, msgs[1])

	root = newRoot(io.Discard, io.Discard)
	root.SetArgs([]string{"chat", "-a", "kb", "-c", "handbook", "hi"})
	require.ErrorContains(t, root.ExecuteContext(context.Background()), "not both")
}
