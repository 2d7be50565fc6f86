package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/cmd/rampart/internal/restclient"
)

func TestRAGVerbs(t *testing.T) {
	got := recordingEdge(t)
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

// ndjson writes grpc-gateway's form of a server stream: one
// {"result": …} object per line, flushed.
func ndjson(w http.ResponseWriter, results ...string) {
	w.Header().Set("Content-Type", "application/json")
	for _, r := range results {
		_, _ = io.WriteString(w, `{"result":`+r+"}\n")
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	}
}

func TestDocAddFollowsTheJobStream(t *testing.T) {
	var mu sync.Mutex
	var bodies []map[string]any
	watches := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.Method == http.MethodPost:
			var b map[string]any
			require.NoError(t, json.NewDecoder(r.Body).Decode(&b))
			bodies = append(bodies, b)
			id := fmt.Sprintf("job_%d", len(bodies))
			_, _ = io.WriteString(w, `{"document":{"id":"doc_1"},"job":{"id":"`+id+`","state":"JOB_STATE_QUEUED"}}`)
		case r.Method == http.MethodGet && r.URL.Path == "/v1/ingest/jobs/job_1:watch":
			watches++
			if watches == 1 { // the stream ends before the job: the CLI watches again
				ndjson(w, `{"job":{"id":"job_1","state":"JOB_STATE_QUEUED"}}`, `{"job":{"id":"job_1","state":"JOB_STATE_RUNNING","chunks_done":1,"chunks_total":2}}`)
				return
			}
			ndjson(w, `{"job":{"id":"job_1","state":"JOB_STATE_RUNNING","chunks_done":1,"chunks_total":2}}`,
				`{"job":{"id":"job_1","state":"JOB_STATE_SUCCEEDED","chunks_done":2,"chunks_total":2}}`)
		case r.Method == http.MethodGet && r.URL.Path == "/v1/ingest/jobs/job_2:watch":
			ndjson(w, `{"job":{"id":"job_2","state":"JOB_STATE_SUCCEEDED","chunks_done":1,"chunks_total":1}}`)
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
	require.Equal(t, base64.StdEncoding.EncodeToString([]byte("from stdin")), bodies[1]["content"])
	require.NotContains(t, bodies[1], "source", "standard input is an unnamed upload: no identity that a later stdin upload would replace")
	require.NotContains(t, bodies[1], "content_type", "stdin is sniffed by ingestion")
	require.Equal(t, 2, watches)
	require.Equal(t, 1, strings.Count(out.String(), "notes.md [##########..........]  50% 1/2 chunks running"), "each change once:\n%s", out.String())
	require.Contains(t, out.String(), "notes.md [####################] 100% 2/2 chunks succeeded")
	require.Contains(t, out.String(), "upload [####################] 100% 1/1 chunks succeeded", "stdin is labelled as citations show it")
}

func TestDocAddWaitReportsFailures(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost:
			_, _ = io.WriteString(w, `{"document":{"id":"doc_1"},"job":{"id":"job_1","state":"JOB_STATE_QUEUED"}}`)
		case strings.HasSuffix(r.URL.Path, ":watch"):
			ndjson(w, `{"job":{"id":"job_1","state":"JOB_STATE_FAILED","error":"extract: the document has no text"}}`)
		}
	}))
	defer srv.Close()
	t.Setenv("RAMPART_URL", srv.URL)
	t.Setenv("RAMPART_ADMIN_KEY", "test-key")
	var out bytes.Buffer
	root := newRoot(&out, &out)
	root.SetIn(strings.NewReader("x"))
	root.SetArgs([]string{"doc", "add", "-c", "handbook", "--wait", "-"})
	err := root.ExecuteContext(context.Background())
	require.ErrorContains(t, err, "ingestion failed: -: extract: the document has no text")
	require.Contains(t, out.String(), "upload [....................]   0% 0/0 chunks failed: extract: the document has no text")

	// A stream that fails (here: the job is not the caller's) ends the wait
	// with the edge's error.
	srv404 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			_, _ = io.WriteString(w, `{"document":{"id":"doc_1"},"job":{"id":"job_1","state":"JOB_STATE_QUEUED"}}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"error":{"code":5,"message":"job: not found","details":[]}}`)
	}))
	defer srv404.Close()
	t.Setenv("RAMPART_URL", srv404.URL)
	root = newRoot(io.Discard, io.Discard)
	root.SetIn(strings.NewReader("x"))
	root.SetArgs([]string{"doc", "add", "-c", "handbook", "--wait", "-"})
	require.ErrorContains(t, root.ExecuteContext(context.Background()), "404 5: job: not found")
}

func TestDocCrawl(t *testing.T) {
	var body map[string]any
	var path string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost:
			path, body = r.URL.Path, nil
			require.NoError(t, json.NewDecoder(r.Body).Decode(&body))
			_, _ = io.WriteString(w, `{"job":{"id":"job_c","kind":"JOB_KIND_CRAWL","state":"JOB_STATE_QUEUED","pages_max":20}}`)
		case r.URL.Path == "/v1/ingest/jobs/job_c:watch":
			ndjson(w,
				`{"job":{"id":"job_c","kind":"JOB_KIND_CRAWL","state":"JOB_STATE_RUNNING","pages_done":5,"pages_max":20,"documents_pending":3}}`,
				`{"job":{"id":"job_c","kind":"JOB_KIND_CRAWL","state":"JOB_STATE_RUNNING","pages_done":10,"pages_max":20,"documents_pending":1}}`,
				`{"job":{"id":"job_c","kind":"JOB_KIND_CRAWL","state":"JOB_STATE_SUCCEEDED","pages_done":10,"pages_max":20,"documents_failed":1,"detail":"10 pages fetched, 0 failed, 2 disallowed by robots.txt, 5120 bytes"}}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	t.Setenv("RAMPART_URL", srv.URL)
	t.Setenv("RAMPART_ADMIN_KEY", "test-key")
	var out bytes.Buffer
	root := newRoot(&out, &out)
	root.SetArgs([]string{"doc", "crawl", "https://docs.example/", "-c", "handbook", "--depth", "3", "--max-pages", "20", "--wait"})
	err := root.ExecuteContext(context.Background())
	require.ErrorContains(t, err, "1 page(s) failed to ingest")
	require.Equal(t, "/v1/collections/handbook/documents:crawl", path)
	require.Equal(t, map[string]any{"url": "https://docs.example/", "max_depth": float64(3), "max_pages": float64(20)}, body)
	require.Contains(t, out.String(), "crawl https://docs.example/  job job_c")
	require.Contains(t, out.String(), "crawl [#####...............]  25% 5/20 pages, 3 documents pending, 0 failed running")
	require.Contains(t, out.String(), "crawl [####################] 100% 10/20 pages, 0 documents pending, 1 failed succeeded")
	require.Contains(t, out.String(), "2 disallowed by robots.txt")

	// Without limits the body leaves them to the service's defaults.
	root = newRoot(io.Discard, io.Discard)
	root.SetArgs([]string{"doc", "crawl", "https://docs.example/", "-c", "handbook"})
	require.NoError(t, root.ExecuteContext(context.Background()))
	require.Equal(t, map[string]any{"url": "https://docs.example/"}, body)

	root = newRoot(io.Discard, io.Discard)
	root.SetArgs([]string{"doc", "crawl", "https://docs.example/"})
	require.ErrorContains(t, root.ExecuteContext(context.Background()), "--collection is required")

	// Every document verb says how to name one.
	for _, args := range [][]string{{"doc", "add", "handbook", "README.md"}, {"doc", "list"}, {"search", "vpn"}} {
		root = newRoot(io.Discard, io.Discard)
		root.SetArgs(args)
		require.ErrorContains(t, root.ExecuteContext(context.Background()), "--collection is required: -c NAME", "%v", args)
	}
}

// TestDocCrawlFailure: a failed crawl's reason is shown once, without
// ingestion's own "crawl: " prefix after the CLI's "crawl failed: ".
func TestDocCrawlFailure(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			_, _ = io.WriteString(w, `{"job":{"id":"job_c","kind":"JOB_KIND_CRAWL","state":"JOB_STATE_QUEUED"}}`)
			return
		}
		ndjson(w, `{"job":{"id":"job_c","kind":"JOB_KIND_CRAWL","state":"JOB_STATE_FAILED","error":"crawl: robots.txt disallows the start URL for RampartBot"}}`)
	}))
	defer srv.Close()
	t.Setenv("RAMPART_URL", srv.URL)
	t.Setenv("RAMPART_ADMIN_KEY", "test-key")
	root := newRoot(io.Discard, io.Discard)
	root.SetArgs([]string{"doc", "crawl", "https://docs.example/", "-c", "handbook", "--wait"})
	require.EqualError(t, root.ExecuteContext(context.Background()), "crawl failed: robots.txt disallows the start URL for RampartBot")
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

// rampart-extractive writes its sources into the answer; chat lists them
// once, as its own Sources block with titles and URLs, a line per document.
func TestChatListsSourcesOnce(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, c := range []string{
			`{"choices":[{"index":0,"delta":{"content":"From the documents: \"Every 45 days.\" [1]\n\nSou"},"finish_reason":null}]}`,
			`{"choices":[{"index":0,"delta":{"content":"rces: [1] vpn.md; [2] keys.md; [3] vpn.md"},"finish_reason":null}]}`,
			`{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"rampart":{"citations":[` +
				`{"index":1,"source":"vpn.md","title":"VPN","url":"https://wiki/vpn","quote":"Every 45 days."},` +
				`{"index":2,"source":"keys.md","quote":"Keys rotate.","passages":[{"quote":"Keys rotate.","location":{"start":40,"end":52,"line":3,"line_end":3}},` +
				`{"quote":"Revoked at once.","location":{"start":90,"end":106,"line":7,"line_end":8}}]},` +
				`{"index":3,"source":"vpn.md","title":"VPN","url":"https://wiki/vpn","quote":"Automatically."}]}}`,
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
	root.SetArgs([]string{"chat", "-c", "handbook", "How often?"})
	require.NoError(t, root.ExecuteContext(context.Background()))
	require.Equal(t, "From the documents: \"Every 45 days.\" [1]\nSources:\n  [1][3] VPN — vpn.md <https://wiki/vpn>\n      \"Every 45 days.\"\n      \"Automatically.\"\n"+
		"  [2] keys.md\n      line 3: \"Keys rotate.\"\n      lines 7–8: \"Revoked at once.\"\n", out.String())
}

// TestCitedPassageLocation: a PDF's passage shows its pages, a text
// file's its lines, another format's its characters.
func TestCitedPassageLocation(t *testing.T) {
	for _, tc := range []struct {
		l    location
		want string
	}{
		{location{Start: 5, End: 9, Page: 3, PageEnd: 3}, "p. 3"},
		{location{Start: 5, End: 9, Page: 3, PageEnd: 4}, "pp. 3–4"},
		{location{Start: 5, End: 9, Line: 2, LineEnd: 2}, "line 2"},
		{location{Start: 5, End: 9, Line: 2, LineEnd: 6}, "lines 2–6"},
		{location{Start: 5, End: 9}, "chars 5–9"},
	} {
		require.Equal(t, tc.want, tc.l.String())
	}
}

// TestChatWithoutDocumentsSaysSo: chat with neither collections nor an
// assistant is a plain model chat, and the CLI says so on stderr.
func TestChatWithoutDocumentsSaysSo(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hello\"}}]}\n\ndata: [DONE]\n\n")
	}))
	defer srv.Close()
	t.Setenv("RAMPART_URL", srv.URL)
	t.Setenv("RAMPART_ADMIN_KEY", "test-key")
	for _, tt := range []struct {
		args []string
		note bool
	}{
		{[]string{"chat", "hi"}, true},
		{[]string{"chat", "-c", "handbook", "hi"}, false},
		{[]string{"chat", "--assistant", "kb", "hi"}, false},
	} {
		var out, errOut bytes.Buffer
		root := newRoot(&out, &errOut)
		root.SetArgs(tt.args)
		require.NoError(t, root.ExecuteContext(context.Background()))
		require.Equal(t, "hello\n", out.String())
		if tt.note {
			require.Equal(t, "note: no --collection or --assistant: rampart-extractive answers without your documents\n", errOut.String())
		} else {
			require.Empty(t, errOut.String(), tt.args)
		}
	}
}

// TestChatRefusedLeavesStdoutEmpty: a request refused before any answer
// (a misspelt collection) prints only the error, no empty answer line.
func TestChatRefusedLeavesStdoutEmpty(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"error":{"message":"The collection `+"`handbok`"+` does not exist or you do not have access to it.","type":"invalid_request_error","param":"rampart.collections[0]","code":"collection_not_found"}}`)
	}))
	defer srv.Close()
	t.Setenv("RAMPART_URL", srv.URL)
	t.Setenv("RAMPART_ADMIN_KEY", "test-key")

	var out bytes.Buffer
	root := newRoot(&out, io.Discard)
	root.SetArgs([]string{"chat", "-c", "handbok", "How often?"})
	require.ErrorContains(t, root.ExecuteContext(context.Background()), "404 collection_not_found")
	require.Empty(t, out.String())
}

// A failed run that will be retried is not the end of a job: --wait goes on.
func TestDocJobEnded(t *testing.T) {
	for _, tc := range []struct {
		job  docJob
		want bool
	}{
		{docJob{State: "JOB_STATE_QUEUED"}, false},
		{docJob{State: "JOB_STATE_RUNNING"}, false},
		{docJob{State: "JOB_STATE_FAILED", Retrying: true}, false},
		{docJob{State: "JOB_STATE_FAILED"}, true},
		{docJob{State: "JOB_STATE_SUCCEEDED"}, true},
	} {
		require.Equal(t, tc.want, tc.job.ended(), "%+v", tc.job)
	}
}

// TestDocAddLabelsBySource: standard input with --source is named by that
// source, as its citations will be, not "upload".
func TestDocAddLabelsBySource(t *testing.T) {
	got := recordingEdge(t)
	var out bytes.Buffer
	root := newRoot(&out, io.Discard)
	root.SetIn(strings.NewReader("VPN certificates rotate every 45 days."))
	root.SetArgs([]string{"doc", "add", "-c", "handbook", "--source", "https://wiki.example.com/it/vpn", "-"})
	require.NoError(t, root.ExecuteContext(context.Background()))
	require.Equal(t, "https://wiki.example.com/it/vpn", got.body["source"])
	require.True(t, strings.HasPrefix(out.String(), "https://wiki.example.com/it/vpn  document"), out.String())
}

// TestDocLabel: the add and progress lines name a document as its
// citations will: ingestion's recorded source first, then --source, then
// what the CLI sends ("upload" being ingestion's name for unnamed content).
func TestDocLabel(t *testing.T) {
	for _, tt := range []struct {
		desc, arg, source, recorded, want string
	}{
		{"stdin", "-", "", "", "upload"},
		{"stdin, recorded", "-", "", "upload", "upload"},
		{"stdin with --source", "-", "vpn-notes", "", "vpn-notes"},
		{"file", "/tmp/docs/notes.md", "", "", "notes.md"},
		{"file, recorded", "/tmp/docs/notes.md", "", "notes.md", "notes.md"},
		{"URL without its query as recorded", "https://wiki.example.com/a?sig=x", "", "https://wiki.example.com/a", "https://wiki.example.com/a"},
		{"URL, old server", "https://wiki.example.com/a", "", "", "https://wiki.example.com/a"},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			require.Equal(t, tt.want, docLabel(tt.arg, tt.source, tt.recorded))
		})
	}
}

// TestWithPrivateTargetHint: only ingestion's refusal of a loopback or
// private URL gets the dev stack's setting; other errors pass unchanged.
func TestWithPrivateTargetHint(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		hint bool
	}{
		{"loopback", &restclient.APIError{Status: 400, Code: "invalid_argument", Param: "url", Message: "url: url target is not allowed: loopback address"}, true},
		{"private", &restclient.APIError{Status: 400, Code: "invalid_argument", Param: "url", Message: "url target is not allowed: private address"}, true},
		{"metadata", &restclient.APIError{Status: 400, Code: "invalid_argument", Param: "url", Message: "url target is not allowed: link-local address (cloud metadata)"}, false},
		{"other param", &restclient.APIError{Status: 400, Code: "invalid_argument", Param: "source", Message: "loopback"}, false},
		{"not an API error", errors.New("url target is not allowed: loopback address"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := withPrivateTargetHint(tc.err)
			require.ErrorIs(t, got, tc.err)
			require.Equal(t, tc.hint, strings.Contains(got.Error(), "RAMPART_INGESTION_FETCH_ALLOW_PRIVATE=true"))
		})
	}
}
