package e2e

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Issue 10 through the running stack: role is not a scope (reproduction 6)
// and the edge's request hygiene (item 8).

// Reproduction 6: an owner's chat:write key read every decrypted prompt log
// of the tenant, because inference let the owner role stand in for the
// usage:read scope. Now the scope is required and the role only narrows.
func TestRoleIsNotAScope(t *testing.T) {
	s := startStack(t)
	tn := newEscalationTenant(t, s, "role-scope")
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/members", tn.owner,
		map[string]any{"subject": "member@role-scope", "role": "ROLE_MEMBER"}, nil))
	keys := map[string]string{
		"owner chat:write":  mustKey(t, s, tn.owner, map[string]any{"name": "chat", "scopes": []string{"chat:write"}}).APIKey,
		"owner usage:read":  mustKey(t, s, tn.owner, map[string]any{"name": "usage", "scopes": []string{"usage:read"}}).APIKey,
		"member usage:read": mustKey(t, s, tn.owner, map[string]any{"name": "m", "subject": "member@role-scope", "scopes": []string{"usage:read", "chat:write"}}).APIKey,
		"owner admin scope": tn.owner,
	}
	cases := []struct {
		key         string
		usage, logs int
	}{
		{"owner chat:write", http.StatusForbidden, http.StatusForbidden},
		{"owner usage:read", http.StatusOK, http.StatusOK},
		{"member usage:read", http.StatusOK, http.StatusForbidden},
		{"owner admin scope", http.StatusOK, http.StatusOK},
	}
	for _, tc := range cases {
		t.Run(tc.key, func(t *testing.T) {
			key := keys[tc.key]
			require.Equal(t, tc.usage, do(t, http.MethodGet, s.baseURL+"/v1/usage", key, nil, nil), "GET /v1/usage")
			require.Equal(t, tc.logs, do(t, http.MethodGet, s.baseURL+"/v1/usage/logs", key, nil, nil), "GET /v1/usage/logs")
			wantOne := tc.logs
			if wantOne == http.StatusOK {
				wantOne = http.StatusNotFound // allowed, but there is no such log
			}
			require.Equal(t, wantOne, do(t, http.MethodGet, s.baseURL+"/v1/usage/logs/req-none", key, nil, nil), "GET /v1/usage/logs/{id}")
		})
	}
}

// rawHTTP writes req on a fresh TCP connection to the edge and returns the
// status line of the answer.
func rawHTTP(t *testing.T, s *stack, req string) string {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(s.baseURL, "http://"))
	require.NoError(t, err)
	defer func() { _ = c.Close() }()
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(c, req)
	require.NoError(t, err)
	line, err := bufio.NewReader(c).ReadString('\n')
	require.NoError(t, err)
	return strings.TrimSpace(line)
}

// Item 8: framing that net/http alone accepts (bare LF, obs-fold, TE with
// CL) is refused by the edge with 400.
func TestEdgeRefusesAmbiguousFraming(t *testing.T) {
	s := startStack(t)
	key := s.env["RAMPART_ADMIN_KEY"]
	good := "GET /v1/whoami HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + key + "\r\nConnection: close\r\n\r\n"
	require.Equal(t, "HTTP/1.1 200 OK", rawHTTP(t, s, good))
	for name, req := range map[string]string{
		"bare LF":               strings.ReplaceAll(good, "\r\n", "\n"),
		"bare LF in one header": "GET /v1/whoami HTTP/1.1\r\nHost: x\nAuthorization: Bearer " + key + "\r\nConnection: close\r\n\r\n",
		"folded header":         "GET /v1/whoami HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer\r\n " + key + "\r\nConnection: close\r\n\r\n",
		"TE and CL": "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + key +
			"\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			require.Equal(t, "HTTP/1.1 400 Bad Request", rawHTTP(t, s, req))
		})
	}
}

// Item 8: two keys in one request are refused; client-sent gRPC call
// options (Grpc-Timeout would become the backend call's deadline) and
// metadata never reach a backend.
func TestEdgeHeaderHygiene(t *testing.T) {
	s := startStack(t)
	key := s.env["RAMPART_ADMIN_KEY"]
	send := func(h http.Header) (int, string) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.baseURL+"/v1/whoami", nil)
		require.NoError(t, err)
		req.Header = h
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer func() { _ = resp.Body.Close() }()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}
	code, body := send(http.Header{"Authorization": {"Bearer " + key, "Bearer rk_other"}})
	require.Equal(t, http.StatusBadRequest, code, body)
	require.Contains(t, body, `"code":"ambiguous_credentials"`)
	require.NotContains(t, body, key)
	code, _ = send(http.Header{"Authorization": {"Bearer " + key}, "X-Api-Key": {"rk_other"}})
	require.Equal(t, http.StatusBadRequest, code)

	// A 1 ns Grpc-Timeout would fail the backend call with 504.
	code, body = send(http.Header{
		"Authorization":                  {"Bearer " + key},
		"Grpc-Timeout":                   {"1n"},
		"Grpc-Metadata-X-Rampart-Tenant": {"t_other"},
		"X-Rampart-Principal":            {"v1.forged.payload.sig"},
	})
	require.Equal(t, http.StatusOK, code, body)
	var who struct {
		TenantID string `json:"tenant_id"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &who))
	require.NotEqual(t, "t_other", who.TenantID)
}

// Item 8: invalid UTF-8 in an OpenAI JSON body is a 400, as on the REST
// routes (encoding/json would have replaced it with U+FFFD).
func TestOpenAIRoutesRefuseInvalidUTF8(t *testing.T) {
	s := startStack(t)
	key := s.env["RAMPART_ADMIN_KEY"]
	for path, body := range map[string]string{
		"/v1/chat/completions": "{\"model\":\"echo\",\"messages\":[{\"role\":\"user\",\"content\":\"caf\xe9\"}]}",
		"/v1/embeddings":       "{\"model\":\"rampart-hash-embed\",\"input\":\"\xff\xfe\"}",
	} {
		t.Run(path, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.baseURL+path, strings.NewReader(body))
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+key)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer func() { _ = resp.Body.Close() }()
			var e struct {
				Error struct{ Code, Type, Message string } `json:"error"`
			}
			require.Equal(t, http.StatusBadRequest, resp.StatusCode)
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&e))
			require.Equal(t, "invalid_json", e.Error.Code)
			require.Equal(t, "invalid_request_error", e.Error.Type)
			require.Contains(t, e.Error.Message, "UTF-8")
		})
	}
	// The same text, valid (é as UTF-8), is answered.
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/chat/completions", key,
		map[string]any{"model": "echo", "messages": []map[string]any{{"role": "user", "content": "café"}}}, nil))
}
