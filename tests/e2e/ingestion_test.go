package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
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
	const canary = "The e2e-canary vault door opens only on Tuesdays at dawn."

	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/collections", admin,
		map[string]any{"name": "e2e-handbook", "description": "e2e"}, nil))
	var ing struct {
		Document struct {
			ID string `json:"id"`
		} `json:"document"`
		Job ingestJob `json:"job"`
	}
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/collections/e2e-handbook/documents", admin,
		map[string]any{"content": []byte("# Facilities\n\n" + canary + " Visitors sign in at reception."), "source": "facilities.md", "content_type": "text/markdown"}, &ing))
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
		} `json:"passages"`
	}
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/search", admin,
		map[string]any{"collection": "e2e-handbook", "query": "when does the vault door open", "top_k": 3}, &res))
	require.NotEmpty(t, res.Passages)
	require.Contains(t, res.Passages[0].Text, canary)
	require.Equal(t, "facilities.md", res.Passages[0].Source)
	require.Equal(t, ing.Document.ID, res.Passages[0].DocumentID)

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

	// no plaintext of the document at rest
	root, err := os.OpenRoot(filepath.Join(s.dir, "data"))
	require.NoError(t, err)
	defer root.Close()
	require.NoError(t, walkFiles(root, func(path string, data []byte) {
		require.NotContains(t, string(data), canary, "document text in plaintext in %s", path)
		require.NotContains(t, string(data), "e2e-temp-token", "temporary token in %s", path)
		require.NotContains(t, string(data), "e2e-client-secret-canary", "client secret in plaintext in %s", path)
	}))
}
