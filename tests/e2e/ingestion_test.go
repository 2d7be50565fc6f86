package e2e

import (
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/atrest"
)

type ingestJob struct {
	ID          string `json:"id"`
	State       string `json:"state"`
	ChunksDone  int    `json:"chunks_done"`
	ChunksTotal int    `json:"chunks_total"`
}

// TestIngestionThroughEdge: REST through the real edge to ingestion, whose
// data key comes from the real keyvault: upload, durable job, hybrid search
// with citations, tenant isolation (404), scopes (403), the SSRF guard, and
// no plaintext of the document in the data dir.
func TestIngestionThroughEdge(t *testing.T) {
	s := startStack(t)
	admin := s.env["RAMPART_ADMIN_KEY"]
	// Distinctive words, so the scan below can look for them and their
	// Porter stems (the lexical index's terms) on their own.
	const canary = "The e2e-canary vault door of Quillhaven opens for Marrowgrasping wardens only on Tuesdays at dawn."

	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/collections", admin,
		map[string]any{"name": "e2e-handbook", "description": "e2e"}, nil))
	var ing struct {
		Document struct {
			ID string `json:"id"`
		} `json:"document"`
		Job ingestJob `json:"job"`
	}
	const facilities = "# Facilities\n\n" + canary + " Visitors sign in at reception."
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/collections/e2e-handbook/documents", admin,
		map[string]any{"content": []byte(facilities), "source": "facilities.md", "content_type": "text/markdown"}, &ing))
	require.NotEmpty(t, ing.Job.ID)

	var job struct {
		Job ingestJob `json:"job"`
	}
	for range 400 { // poll the durable job until it ends (bounded, not timed)
		require.Equal(t, http.StatusOK, do(t, http.MethodGet, s.baseURL+"/v1/ingest/jobs/"+ing.Job.ID, admin, nil, &job))
		if job.Job.State == "JOB_STATE_SUCCEEDED" || job.Job.State == "JOB_STATE_FAILED" {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	require.Equal(t, "JOB_STATE_SUCCEEDED", job.Job.State)
	require.Equal(t, job.Job.ChunksTotal, job.Job.ChunksDone)

	var res struct {
		Passages []struct {
			Text       string `json:"text"`
			DocumentID string `json:"document_id"`
			Source     string `json:"source"`
			ChunkID    string `json:"chunk_id"`
			Location   *struct {
				Start int  `json:"start"`
				End   int  `json:"end"`
				Line  *int `json:"line"`
				Page  *int `json:"page"`
			} `json:"location"`
		} `json:"passages"`
	}
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/search", admin,
		map[string]any{"collection": "e2e-handbook", "query": "when does the vault door open", "top_k": 3}, &res))
	require.NotEmpty(t, res.Passages)
	require.Contains(t, res.Passages[0].Text, canary)
	require.Equal(t, "facilities.md", res.Passages[0].Source)
	require.Equal(t, ing.Document.ID, res.Passages[0].DocumentID)
	// where the passage is in the file (ADR 0085): its characters, its
	// line; no page in a Markdown file (the field is absent, not 0)
	loc := res.Passages[0].Location
	require.NotNil(t, loc)
	require.Equal(t, res.Passages[0].Text, string([]rune(facilities)[loc.Start:loc.End]))
	require.NotNil(t, loc.Line)
	require.Equal(t, 3, *loc.Line)
	require.Nil(t, loc.Page)

	// another tenant: 404 for the document, the job and the collection
	var tb struct {
		OwnerAPIKey string `json:"owner_api_key"`
	}
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/tenants", admin,
		map[string]any{"name": "tenant-ingestion", "owner_subject": "owner@i.example"}, &tb))
	require.Equal(t, http.StatusNotFound, do(t, http.MethodGet, s.baseURL+"/v1/documents/"+ing.Document.ID, tb.OwnerAPIKey, nil, nil))
	require.Equal(t, http.StatusNotFound, do(t, http.MethodGet, s.baseURL+"/v1/ingest/jobs/"+ing.Job.ID, tb.OwnerAPIKey, nil, nil))
	require.Equal(t, http.StatusNotFound, do(t, http.MethodGet, s.baseURL+"/v1/ingest/jobs/"+ing.Job.ID+":watch", tb.OwnerAPIKey, nil, nil))
	// the job's stream through the edge: the job has ended, so one object
	var watched struct {
		Result struct {
			Job ingestJob `json:"job"`
		} `json:"result"`
	}
	require.Equal(t, http.StatusOK, do(t, http.MethodGet, s.baseURL+"/v1/ingest/jobs/"+ing.Job.ID+":watch", admin, nil, &watched))
	require.Equal(t, "JOB_STATE_SUCCEEDED", watched.Result.Job.State)
	require.Equal(t, http.StatusNotFound, do(t, http.MethodPost, s.baseURL+"/v1/search", tb.OwnerAPIKey,
		map[string]any{"collection": "e2e-handbook", "query": "vault door"}, nil))

	// a key without ingest scopes is refused at the edge
	var chatOnly createdKey
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/keys", admin,
		map[string]any{"name": "chat-only-ingest", "scopes": []string{"chat:write"}}, &chatOnly))
	require.Equal(t, http.StatusForbidden, do(t, http.MethodPost, s.baseURL+"/v1/search", chatOnly.APIKey,
		map[string]any{"collection": "e2e-handbook", "query": "vault"}, nil))

	// the SSRF guard refuses loopback (the edge's own port) by default
	require.Equal(t, http.StatusBadRequest, do(t, http.MethodPost, s.baseURL+"/v1/collections/e2e-handbook/documents", admin,
		map[string]any{"url": s.baseURL + "/healthz", "access_token": "e2e-temp-token"}, nil))

	// a data-source connection: the client secret goes to the real keyvault
	// (ingestion's policy allows /{env}/ingestion/*), the URL carries PKCE
	var conn struct {
		Connection struct {
			ID    string `json:"id"`
			State string `json:"state"`
		} `json:"connection"`
		AuthorizationURL string `json:"authorization_url"`
	}
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/ingest/connections", admin, map[string]any{
		"name": "wiki", "authorization_endpoint": "https://idp.example/authorize", "token_endpoint": "https://idp.example/token",
		"client_id": "rampart", "client_secret": "e2e-client-secret-canary", "redirect_uri": "https://rampart.example/cb", "scopes": []string{"read"},
	}, &conn))
	require.Equal(t, "CONNECTION_STATE_PENDING", conn.Connection.State)
	require.Contains(t, conn.AuthorizationURL, "code_challenge_method=S256")
	require.Equal(t, http.StatusNotFound, do(t, http.MethodDelete, s.baseURL+"/v1/ingest/connections/"+conn.Connection.ID, tb.OwnerAPIKey, nil, nil))
	require.Equal(t, http.StatusOK, do(t, http.MethodDelete, s.baseURL+"/v1/ingest/connections/"+conn.Connection.ID, admin, nil, nil))

	// no plaintext of the document, its words or its terms at rest, nor of
	// the token and the client secret
	requireSealedAtRest(t, s,
		[]string{canary, "e2e-temp-token", "e2e-client-secret-canary"},
		[]string{"quillhaven", "marrowgrasping", "marrowgrasp", "tuesdays", "tuesdai"})
}

// requireSealedAtRest scans the stack's whole data dir once ingestion's
// lexical index has sealed a segment (waited for: segments are written a
// second after a change, ADR 0051), so the scan is sure to cover the index:
// no file holds any of plain verbatim, nor any of words compared
// case-insensitively (a document's distinctive words and their Porter
// stems, the index's terms, which it stores only as tenant-keyed HMACs in
// files sealed with the tenant's key).
func requireSealedAtRest(t *testing.T, s *stack, plain, words []string) {
	t.Helper()
	root, err := os.OpenRoot(filepath.Join(s.dir, "data"))
	require.NoError(t, err)
	defer root.Close()
	var segments []string
	require.Eventually(t, func() bool {
		segments = segments[:0]
		require.NoError(t, fs.WalkDir(root.FS(), ".", func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && isLexicalSegment(path) {
				segments = append(segments, path)
			}
			return err
		}))
		return len(segments) > 0
	}, 30*time.Second, 100*time.Millisecond, "ingestion's lexical index sealed no segment under the data dir")
	require.NoError(t, atrest.FilesIn(root, func(path string, data []byte) {
		// strings.Contains, not require.NotContains: a failure names the
		// file, it does not print it
		for _, p := range plain {
			require.False(t, strings.Contains(string(data), p), "%q in plaintext in %s", p, path)
		}
		lower := strings.ToLower(string(data))
		for _, w := range words {
			require.False(t, strings.Contains(lower, strings.ToLower(w)), "document word or term %q in plaintext in %s (segments: %v)", w, path, segments)
		}
	}))
}

// isLexicalSegment: path is a sealed segment of a lexical index
// (…/index/<tenant digest>/<collection>/seg-NNNNNNNNNNNN, ADR 0051), not
// one being written.
func isLexicalSegment(path string) bool {
	dirs := strings.Split(filepath.ToSlash(filepath.Dir(path)), "/")
	base := filepath.Base(path)
	return len(dirs) >= 3 && dirs[len(dirs)-3] == "index" && strings.HasPrefix(base, "seg-") && !strings.HasSuffix(base, ".tmp")
}

// TestIngestionMetricsOnItsAdminPort: the real ingestion binary serves its
// own metrics on its admin port (ADR 0133) beside the runtime and gRPC
// ones, and a job through the edge is counted there without its
// collection, source, document id or content in any series.
func TestIngestionMetricsOnItsAdminPort(t *testing.T) {
	s := startStack(t)
	admin := s.env["RAMPART_ADMIN_KEY"]
	const coll, source, words = "e2e-metrics-coll", "e2e-metrics-source.md", "Wrenfallow beacons glow amber"
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/collections", admin, map[string]any{"name": coll}, nil))
	doc := ingestAndWait(t, s, admin, coll, source, "# Beacons\n\n"+words+" on the north pier.")
	addr, _, _ := strings.Cut(s.env["RAMPART_INGESTION_ADMIN_ADDR"], ",")
	require.NotEmpty(t, addr)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+addr+"/metrics", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	body := string(b)
	for _, family := range []string{"rampart_ingestion_jobs_total", "rampart_ingestion_chunks_indexed_total",
		"rampart_ingestion_extraction_failures_total", "rampart_ingestion_rechunk_backlog_documents", "grpc_server_handled_total"} {
		require.Contains(t, body, "# TYPE "+family+" ", "the admin port serves %s", family)
	}
	require.Regexp(t, `(?m)^rampart_ingestion_jobs_total\{kind="ingest",outcome="succeeded"\} [1-9]`, body)
	for _, secret := range []string{coll, source, "Wrenfallow", doc} {
		require.NotContains(t, body, secret)
	}
}
