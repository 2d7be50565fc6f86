package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// tenantStreamCap (ADR 0111 §3) through the stack: a tenant's owner sets
// max_concurrent_streams 1 (PUT /v1/tenants/{id}/limits); two keys of the
// tenant, each far within its own cap, hold one chat stream between them:
// the second key's stream is the edge's 429 rate_limit_exceeded naming
// the tenant's cap, with Retry-After, until the first ends.
func (cf *conformance) tenantStreamCap(t *testing.T) {
	tn := newEscalationTenant(t, cf.st, "oai-streams")
	require.Equal(t, http.StatusOK, do(t, http.MethodPut, cf.st.baseURL+"/v1/tenants/"+tn.id+"/limits", tn.owner,
		map[string]any{"max_concurrent_streams": 1}, nil))
	var got struct {
		Tenant struct {
			Limits struct {
				MaxConcurrentStreams json.Number `json:"max_concurrent_streams"`
			} `json:"limits"`
		} `json:"tenant"`
	}
	require.Equal(t, http.StatusOK, do(t, http.MethodGet, cf.st.baseURL+"/v1/tenants/"+tn.id, tn.owner, nil, &got))
	require.Equal(t, "1", got.Tenant.Limits.MaxConcurrentStreams.String())
	a := mustKey(t, cf.st, tn.owner, map[string]any{"name": "a", "scopes": []string{"chat:write"}}).APIKey
	b := mustKey(t, cf.st, tn.owner, map[string]any{"name": "b", "scopes": []string{"chat:write"}}).APIKey

	stream := func(ctx context.Context, key, text string) *http.Response {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, cf.st.baseURL+"/v1/chat/completions",
			strings.NewReader(`{"model":"gpt-fake","stream":true,"messages":[{"role":"user","content":"`+text+`"}]}`))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		return resp
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	held := stream(ctx, a, "hang")
	defer held.Body.Close()
	require.Equal(t, http.StatusOK, held.StatusCode)
	sc := bufio.NewScanner(held.Body)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "waiting") {
			break // the upstream holds the stream open
		}
	}

	refused := stream(t.Context(), b, "hello")
	body, err := io.ReadAll(refused.Body)
	require.NoError(t, err)
	require.NoError(t, refused.Body.Close())
	var e openAIError
	require.NoError(t, json.NewDecoder(bytes.NewReader(body)).Decode(&e), string(body))
	requireRateLimited(t, refused.StatusCode, refused.Header, e, "requests", "this tenant")
	require.Contains(t, e.Error.Message, "at most 1 streaming request")

	// The held stream ends: the tenant's slot comes back.
	cancel()
	require.Eventually(t, func() bool {
		r := stream(t.Context(), b, "hello")
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
		return r.StatusCode == http.StatusOK
	}, 30*time.Second, 100*time.Millisecond)
}
