package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// do sends a JSON request with key and decodes a JSON answer into out (if non-nil).
func do(t *testing.T, method, url, key string, body any, out any) int {
	t.Helper()
	code, data := rawDo(t, method, url, key, body)
	if out != nil && code/100 == 2 {
		require.NoError(t, json.Unmarshal(data, out), string(data))
	}
	return code
}

// rawDo sends body as JSON (none when nil) with the bearer key (none when
// "") and returns the status and the raw answer.
func rawDo(t *testing.T, method, url, key string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, url, rd)
	require.NoError(t, err)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, data
}

type createdKey struct {
	APIKey string `json:"api_key"`
	Key    struct {
		KeyID string `json:"key_id"`
	} `json:"key"`
}

// TestKeyLifecycleThroughEdge drives the real edge and auth: a new key works,
// a rotation keeps both keys working during the overlap, and a revocation is
// visible at the edge within a second.
func TestKeyLifecycleThroughEdge(t *testing.T) {
	s := startStack(t)
	admin := s.env["RAMPART_ADMIN_KEY"]

	var k createdKey
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/keys", admin,
		map[string]any{"name": "e2e", "scopes": []string{"chat:write"}}, &k))
	require.NotEmpty(t, k.APIKey)
	require.Equal(t, http.StatusOK, do(t, http.MethodGet, s.baseURL+"/v1/whoami", k.APIKey, nil, nil))

	var rotated struct {
		APIKey string `json:"api_key"`
	}
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/keys/"+k.Key.KeyID+":rotate", admin, map[string]any{}, &rotated))
	require.Equal(t, http.StatusOK, do(t, http.MethodGet, s.baseURL+"/v1/whoami", k.APIKey, nil, nil), "old key works during the overlap")
	require.Equal(t, http.StatusOK, do(t, http.MethodGet, s.baseURL+"/v1/whoami", rotated.APIKey, nil, nil), "new key works")

	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/keys/"+k.Key.KeyID+":revoke", admin, map[string]any{}, nil))
	revokedAt := time.Now()
	require.Eventually(t, func() bool {
		return do(t, http.MethodGet, s.baseURL+"/v1/whoami", k.APIKey, nil, nil) == http.StatusUnauthorized
	}, time.Second, 20*time.Millisecond, "revocation must reach the edge within 1s")
	t.Logf("revocation visible at the edge after %s", time.Since(revokedAt).Round(time.Millisecond))
}

// TestCrossTenantIsolationThroughEdge: tenant B's owner cannot see or touch
// the platform tenant's keys, members or audit, and gets 404, not 403.
func TestCrossTenantIsolationThroughEdge(t *testing.T) {
	s := startStack(t)
	admin := s.env["RAMPART_ADMIN_KEY"]
	adminKeyID := admin[3:15]

	var tb struct {
		Tenant struct {
			TenantID string `json:"tenant_id"`
		} `json:"tenant"`
		OwnerAPIKey string `json:"owner_api_key"`
	}
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/tenants", admin,
		map[string]any{"name": "tenant-b", "owner_subject": "owner@b.example"}, &tb))
	require.NotEmpty(t, tb.OwnerAPIKey)
	bKey := tb.OwnerAPIKey

	tests := []struct {
		name, method, path string
		body               any
	}{
		{"get other tenant", http.MethodGet, "/v1/tenants/" + s.env["RAMPART_TENANT_ID"], nil},
		{"get other tenant's key", http.MethodGet, "/v1/keys/" + adminKeyID, nil},
		{"revoke other tenant's key", http.MethodPost, "/v1/keys/" + adminKeyID + ":revoke", map[string]any{}},
		{"rotate other tenant's key", http.MethodPost, "/v1/keys/" + adminKeyID + ":rotate", map[string]any{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, http.StatusNotFound, do(t, tt.method, s.baseURL+tt.path, bKey, tt.body, nil))
		})
	}
	// The platform key was not touched by any of that.
	require.Equal(t, http.StatusOK, do(t, http.MethodGet, s.baseURL+"/v1/whoami", admin, nil, nil))

	// B's listings contain only B's own things.
	var keys struct {
		Keys []struct {
			KeyID string `json:"key_id"`
		} `json:"keys"`
	}
	require.Equal(t, http.StatusOK, do(t, http.MethodGet, s.baseURL+"/v1/keys", bKey, nil, &keys))
	for _, k := range keys.Keys {
		require.NotEqual(t, adminKeyID, k.KeyID)
	}
	var audit map[string]any
	require.Equal(t, http.StatusOK, do(t, http.MethodGet, s.baseURL+"/v1/audit", bKey, nil, &audit))
	raw, err := json.Marshal(audit)
	require.NoError(t, err)
	require.NotContains(t, string(raw), s.env["RAMPART_TENANT_ID"], "tenant B's audit must not show the platform tenant")
}

// TestBadInputThroughEdge: client mistakes are 4xx with a JSON body naming
// the problem, never 5xx.
func TestBadInputThroughEdge(t *testing.T) {
	s := startStack(t)
	admin := s.env["RAMPART_ADMIN_KEY"]
	tests := []struct {
		name   string
		body   string
		status int
		param  string
	}{
		{"malformed JSON", `{"name":`, http.StatusBadRequest, ""},
		{"unknown field", `{"name":"x","colour":"red"}`, http.StatusBadRequest, "colour"},
		{"unknown scope", `{"name":"x","scopes":["root:everything"]}`, http.StatusBadRequest, "scopes[0]"},
		{"expiry in the past", `{"name":"x","scopes":["chat:write"],"ttl_seconds":-5}`, http.StatusBadRequest, "ttl_seconds"},
		{"name too long", `{"scopes":["chat:write"],"name":"` + string(bytes.Repeat([]byte("n"), 300)) + `"}`, http.StatusBadRequest, "name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, s.baseURL+"/v1/keys", bytes.NewReader([]byte(tt.body)))
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+admin)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			var eb struct {
				Error struct {
					Message string  `json:"message"`
					Param   *string `json:"param"`
				} `json:"error"`
			}
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&eb))
			require.Equal(t, tt.status, resp.StatusCode, eb.Error.Message)
			require.NotEmpty(t, eb.Error.Message)
			if tt.param != "" {
				require.NotNil(t, eb.Error.Param, eb.Error.Message)
				require.Equal(t, tt.param, *eb.Error.Param)
			}
		})
	}
	// Nothing was half-created by any of those.
	var keys struct {
		Keys []struct {
			Name string `json:"name"`
		} `json:"keys"`
	}
	require.Equal(t, http.StatusOK, do(t, http.MethodGet, s.baseURL+"/v1/keys", admin, nil, &keys))
	for _, k := range keys.Keys {
		require.NotEqual(t, "x", k.Name)
	}

	big := bytes.Repeat([]byte("a"), 2<<20)
	req, err := http.NewRequest(http.MethodPost, s.baseURL+"/v1/keys", bytes.NewReader(append(append([]byte(`{"name":"`), big...), []byte(`"}`)...)))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
}
