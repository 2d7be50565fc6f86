package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/tests/e2e/internal/devenv"
)

// TestCrawlThroughStack: `rampart doc crawl --wait` against the real stack
// crawls a site on a loopback httptest server (reachable only because this
// stack runs with RAMPART_INGESTION_FETCH_ALLOW_PRIVATE, the dev/test-only
// setting), follows the crawl job's stream through the edge to the end,
// and each page is searchable with its citation: URL, title and
// Last-Modified. Limits out of range are 400 naming the field; another
// tenant's collection is 404.
func TestCrawlThroughStack(t *testing.T) {
	modified := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
	var private atomic.Int32
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page := func(title, body string) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = io.WriteString(w, "<html><head><title>"+title+"</title></head><body><h1>"+title+"</h1>"+body+"</body></html>")
		}
		switch r.URL.Path {
		case "/robots.txt":
			_, _ = io.WriteString(w, "User-agent: *\nDisallow: /private/\n")
		case "/":
			page("Wiki home", `<p>Start here.</p><a href="/alpha">alpha</a> <a href="/beta">beta</a> <a href="/private/keys">keys</a>`)
		case "/alpha":
			w.Header().Set("Last-Modified", modified.Format(http.TimeFormat))
			page("Badge office", "<p>Visitor badges are printed at the north entrance kiosk.</p>")
		case "/beta":
			page("Parking", `<p>Bicycles park in the basement cage.</p><a href="/gamma">deeper</a>`)
		case "/private/keys":
			private.Add(1)
			page("Keys", "<p>never crawled</p>")
		default:
			http.NotFound(w, r)
		}
	}))
	defer site.Close()

	s, err := launchEnv("RAMPART_INGESTION_FETCH_ALLOW_PRIVATE=true")
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = s.stop()
		_ = os.RemoveAll(s.dir)
	})
	admin := s.env["RAMPART_ADMIN_KEY"]
	rampart := func(args ...string) (string, error) {
		t.Helper()
		cmd := exec.Command(filepath.Join(binDir, "rampart"), args...)
		cmd.Env = append(devenv.Clean(), "RAMPART_URL="+s.baseURL, "RAMPART_ADMIN_KEY="+admin)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := rampart("collection", "create", "wiki")
	require.NoError(t, err, out)
	out, err = rampart("doc", "crawl", site.URL+"/", "-c", "wiki", "--depth", "1", "--max-pages", "10", "--wait")
	require.NoError(t, err, out)
	require.Contains(t, out, "crawl [####################] 100% 3/10 pages, 0 documents pending, 0 failed succeeded")
	require.Contains(t, out, "3 pages fetched, 0 failed, 1 disallowed by robots.txt")
	require.Zero(t, private.Load(), "robots.txt is honoured")

	var res struct {
		Passages []struct {
			Source    string `json:"source"`
			URL       string `json:"url"`
			Title     string `json:"title"`
			UpdatedAt string `json:"updated_at"`
			Text      string `json:"text"`
		} `json:"passages"`
	}
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/search", admin,
		map[string]any{"collection": "wiki", "query": "where are visitor badges printed", "top_k": 1}, &res))
	require.Len(t, res.Passages, 1)
	p := res.Passages[0]
	require.Contains(t, p.Text, "north entrance kiosk")
	require.Equal(t, site.URL+"/alpha", p.URL)
	require.Equal(t, site.URL+"/alpha", p.Source)
	require.Equal(t, "Badge office", p.Title)
	got, err := time.Parse(time.RFC3339, p.UpdatedAt)
	require.NoError(t, err)
	require.True(t, modified.Equal(got), "Last-Modified is the citation's date: %s", p.UpdatedAt)

	// bad limits name the field; another tenant's collection is not there
	for field, body := range map[string]map[string]any{
		"max_depth": {"url": site.URL + "/", "max_depth": 6},
		"max_pages": {"url": site.URL + "/", "max_pages": 100000},
	} {
		raw, _ := json.Marshal(body)
		req, err := http.NewRequest(http.MethodPost, s.baseURL+"/v1/collections/wiki/documents:crawl", bytes.NewReader(raw))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		msg, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, string(msg))
		require.True(t, strings.Contains(string(msg), field), "the error names %s: %s", field, msg)
	}
	var tb struct {
		OwnerAPIKey string `json:"owner_api_key"`
	}
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/tenants", admin,
		map[string]any{"name": "tenant-crawl", "owner_subject": "owner@crawl.example"}, &tb))
	require.Equal(t, http.StatusNotFound, do(t, http.MethodPost, s.baseURL+"/v1/collections/wiki/documents:crawl", tb.OwnerAPIKey,
		map[string]any{"url": site.URL + "/"}, nil))
}
