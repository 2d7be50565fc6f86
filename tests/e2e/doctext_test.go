package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// docTextAnswer is GET /v1/documents/{id}/text's body (ADR 0094).
type docTextAnswer struct {
	Document struct {
		ID            string `json:"id"`
		TextAvailable bool   `json:"text_available"`
	} `json:"document"`
	Text   string `json:"text"`
	Start  int    `json:"start"`
	End    int    `json:"end"`
	Length int    `json:"length"`
}

// TestDocumentTextThroughEdge: a grounded answer's citation of an HTML
// page locates its quote in the page's extracted text, which
// GET /v1/documents/{id}/text serves (whole or the cited range) to a key
// that may read the document; a key without ingest:read is refused and
// another tenant's key finds no such document (ADR 0094).
func TestDocumentTextThroughEdge(t *testing.T) {
	s := startStack(t)
	admin := s.env["RAMPART_ADMIN_KEY"]
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/collections", admin, map[string]any{"name": "e2e-doctext"}, nil))
	const page = `<html><head><title>Travel policy</title></head><body><nav>Home | Search</nav>
<h1>Travel</h1><p>Trains are booked   through the travel portal.</p>
<h2>Taxis</h2><p>A taxi needs a <b>receipt</b> from the driver.</p></body></html>`
	var ing struct {
		Document struct {
			ID string `json:"id"`
		} `json:"document"`
		Job ingestJob `json:"job"`
	}
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/collections/e2e-doctext/documents", admin,
		map[string]any{"content": []byte(page), "source": "travel.html", "content_type": "text/html"}, &ing))
	docID := ing.Document.ID
	waitJobState(t, s, admin, ing.Job.ID, "JOB_STATE_SUCCEEDED")

	var full docTextAnswer
	require.Equal(t, http.StatusOK, do(t, http.MethodGet, s.baseURL+"/v1/documents/"+docID+"/text", admin, nil, &full))
	require.True(t, full.Document.TextAvailable)
	require.NotContains(t, full.Text, "<p>", "the extracted text, not the file")
	require.Contains(t, full.Text, "A taxi needs a receipt from the driver.")
	require.Equal(t, len([]rune(full.Text)), full.Length)
	require.Equal(t, full.Length, full.End)

	var a ragAnswer
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/chat/completions", admin, map[string]any{
		"model": "rampart-extractive", "messages": []map[string]string{{"role": "user", "content": "Does a taxi need a receipt?"}},
		"rampart": map[string]any{"collections": []string{"e2e-doctext"}},
	}, &a))
	require.NotNil(t, a.Rampart)
	require.NotEmpty(t, a.Rampart.Citations)
	c := a.Rampart.Citations[0]
	require.Equal(t, docID, c.DocumentID)
	for _, p := range c.Passages {
		l := p.Location
		require.NotNil(t, l, "located: %+v", p)
		require.Zero(t, l.Line, "an HTML page's extracted lines are not the file's")
		var part docTextAnswer
		require.Equal(t, http.StatusOK, do(t, http.MethodGet, fmt.Sprintf("%s/v1/documents/%s/text?start=%d&end=%d", s.baseURL, docID, l.Start, l.End), admin, nil, &part))
		require.Equal(t, string([]rune(full.Text)[l.Start:l.End]), part.Text)
		require.True(t, strings.HasPrefix(strings.Join(strings.Fields(part.Text), " "), strings.TrimSuffix(p.Quote, "…")),
			"the quote %q is at %+v: %q", p.Quote, *l, part.Text)
	}

	code, body := rawDo(t, http.MethodGet, s.baseURL+"/v1/documents/"+docID+"/text?start=9&end=3", admin, nil)
	require.Equal(t, http.StatusBadRequest, code, string(body))
	require.Contains(t, string(body), "end")

	chatOnly := mustKey(t, s, admin, map[string]any{"name": "doctext-chat-only", "scopes": []string{"chat:write"}})
	code, body = rawDo(t, http.MethodGet, s.baseURL+"/v1/documents/"+docID+"/text", chatOnly.APIKey, nil)
	require.Equal(t, http.StatusForbidden, code, string(body))
	require.NotContains(t, string(body), "receipt")

	var other struct {
		OwnerAPIKey string `json:"owner_api_key"`
	}
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/tenants", admin,
		map[string]any{"name": "doctext-other", "owner_subject": "owner@doctext-other.example"}, &other))
	code, body = rawDo(t, http.MethodGet, s.baseURL+"/v1/documents/"+docID+"/text", other.OwnerAPIKey, nil)
	require.Equal(t, http.StatusNotFound, code, string(body))
	require.NotContains(t, string(body), "receipt")
}

// waitJobState polls a job until it ends and requires the state want.
func waitJobState(t *testing.T, s *stack, key, jobID, want string) {
	t.Helper()
	var job struct {
		Job ingestJob `json:"job"`
	}
	for range 400 {
		require.Equal(t, http.StatusOK, do(t, http.MethodGet, s.baseURL+"/v1/ingest/jobs/"+jobID, key, nil, &job))
		if job.Job.State == "JOB_STATE_SUCCEEDED" || job.Job.State == "JOB_STATE_FAILED" {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	require.Equal(t, want, job.Job.State)
}
