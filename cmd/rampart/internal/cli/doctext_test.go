package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDocTextPagesThroughTheBound: `doc text` asks again from where an
// answer stopped (the service returns at most a bound of characters) and
// prints the range asked for, characters not bytes.
func TestDocTextPagesThroughTheBound(t *testing.T) {
	const text = "Café — naïve text of twenty-nine"
	runes := []rune(text)
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "/v1/documents/doc_1/text", r.URL.Path)
		asked = append(asked, r.URL.RawQuery)
		start, _ := strconv.Atoi(r.URL.Query().Get("start"))
		end := len(runes)
		if e := r.URL.Query().Get("end"); e != "" {
			end, _ = strconv.Atoi(e)
		}
		end = min(end, start+5, len(runes)) // a bound of 5 characters
		_ = json.NewEncoder(w).Encode(map[string]any{"text": string(runes[start:end]), "start": start, "end": end, "length": len(runes)})
	}))
	defer srv.Close()
	t.Setenv("RAMPART_URL", srv.URL)
	t.Setenv("RAMPART_ADMIN_KEY", "test-key")
	for _, tc := range []struct {
		args []string
		want string
		asks int
	}{
		{[]string{"doc", "text", "doc_1"}, text, 7},
		{[]string{"doc", "text", "doc_1", "--start", "3", "--end", "9"}, string(runes[3:9]), 2},
	} {
		asked = nil
		var out bytes.Buffer
		root := newRoot(&out, io.Discard)
		root.SetArgs(tc.args)
		require.NoError(t, root.ExecuteContext(context.Background()))
		require.Equal(t, tc.want, out.String())
		require.Len(t, asked, tc.asks, "%v", asked)
	}
	root := newRoot(io.Discard, io.Discard)
	root.SetArgs([]string{"doc", "text", "doc_1", "--start", "4", "--end", "2"})
	require.ErrorContains(t, root.ExecuteContext(context.Background()), "--end")
}

// TestDocReindexAddsOldDocumentsAgain: `doc reindex` adds again, with its
// source name and type, the file of each ready document without a stored
// text (of its name and size: another vpn.md is not it), and a URL
// document by its URL; documents with text, still processing, or unnamed
// are not sent, and those without a file are listed.
func TestDocReindexAddsOldDocumentsAgain(t *testing.T) {
	var mu sync.Mutex
	var bodies []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/v1/collections/kb/documents":
			_, _ = io.WriteString(w, `{"documents":[
				{"id":"doc_1","source":"vpn.md","content_type":"text/markdown","size_bytes":"14","state":"DOCUMENT_STATE_READY"},
				{"id":"doc_7","source":"notes.md","content_type":"text/markdown","size_bytes":"99","state":"DOCUMENT_STATE_READY"},
				{"id":"doc_2","source":"new.md","content_type":"text/markdown","state":"DOCUMENT_STATE_READY","text_available":true},
				{"id":"doc_3","source":"https://wiki.example.com/a?x","content_type":"text/html","state":"DOCUMENT_STATE_READY"},
				{"id":"doc_4","source":"gone.pdf","content_type":"application/pdf","state":"DOCUMENT_STATE_READY"},
				{"id":"doc_5","source":"upload","content_type":"text/plain","state":"DOCUMENT_STATE_READY"},
				{"id":"doc_6","source":"busy.md","content_type":"text/markdown","state":"DOCUMENT_STATE_PROCESSING"}]}`)
		case r.Method == http.MethodPost && r.URL.Path == "/v1/collections/kb/documents":
			var b map[string]any
			require.NoError(t, json.NewDecoder(r.Body).Decode(&b))
			bodies = append(bodies, b)
			fmt.Fprintf(w, `{"document":{"id":"doc_%d"},"job":{"id":"job_%d","kind":"JOB_KIND_REINDEX","state":"JOB_STATE_QUEUED"}}`, len(bodies), len(bodies))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	t.Setenv("RAMPART_URL", srv.URL)
	t.Setenv("RAMPART_ADMIN_KEY", "test-key")
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "it"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "vpn.md"), []byte("# Another VPN file"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "it", "vpn.md"), []byte("# VPN\n\nRotate."), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.md"), []byte("changed since"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "new.md"), []byte("new"), 0o600))

	var out bytes.Buffer
	root := newRoot(&out, io.Discard)
	root.SetArgs([]string{"doc", "reindex", "-c", "kb", dir})
	require.NoError(t, root.ExecuteContext(context.Background()))
	require.Equal(t, []map[string]any{
		{"content": base64.StdEncoding.EncodeToString([]byte("# VPN\n\nRotate.")), "source": "vpn.md", "content_type": "text/markdown"},
		{"url": "https://wiki.example.com/a?x"},
	}, bodies)
	require.Contains(t, out.String(), "re-chunked to locate its citations")
	require.Contains(t, out.String(), "2 document(s) re-chunked")
	require.Contains(t, out.String(), "3 document(s) need their file")
	require.Contains(t, out.String(), "notes.md (doc_7)", "a file of the name but not the size is not sent")
	require.Contains(t, out.String(), "gone.pdf (doc_4)")
	require.Contains(t, out.String(), "upload (doc_5)")
}

// TestSourcesNameTheDocumentOfExtractedTextPassages: a cited passage
// placed by characters (HTML) or pages (PDF) names its document in the
// Sources list, with a hint at `rampart doc text`; passages placed by
// lines of a text file do not need it.
func TestSourcesNameTheDocumentOfExtractedTextPassages(t *testing.T) {
	var out bytes.Buffer
	printSources(&out, []citation{
		{Index: 1, DocumentID: "doc_h", Source: "travel.html", Title: "Travel", Passages: []citedPassage{{Quote: "Taxis need a receipt.", Location: &location{Start: 40, End: 61}}}},
		{Index: 2, DocumentID: "doc_m", Source: "vpn.md", Passages: []citedPassage{{Quote: "Rotate.", Location: &location{Start: 7, End: 14, Line: 3, LineEnd: 3}}}},
		{Index: 3, DocumentID: "doc_p", Source: "policy.pdf", Passages: []citedPassage{{Quote: "Filed in 30 days.", Location: &location{Start: 0, End: 17, Page: 2, PageEnd: 2}}}},
	})
	require.Equal(t, "Sources:\n"+
		"  [1] Travel — travel.html · doc_h\n      chars 40–61: \"Taxis need a receipt.\"\n"+
		"  [2] vpn.md\n      line 3: \"Rotate.\"\n"+
		"  [3] policy.pdf · doc_p\n      p. 2, chars 0–17: \"Filed in 30 days.\"\n"+
		"  (rampart doc text DOCUMENT_ID --start N --end M shows a passage's chars N–M in context)\n", out.String())
}
