package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/atrest"
	"github.com/rampart-platform/rampart/tests/e2e/internal/devenv"
)

// TestSecretsThroughEdge stores and reads a secret through the real edge and
// keyvault, checks the observability endpoint shows metadata but never the
// value, and that another tenant cannot see it.
func TestSecretsThroughEdge(t *testing.T) {
	s := startStack(t)
	admin := s.env["RAMPART_ADMIN_KEY"]
	const name = "/dev/app/token/bot"
	canary := "xoxb-e2e-canary-" + strings.Repeat("7", 24)

	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/secrets", admin,
		map[string]any{"name": name, "secret_string": canary}, nil))

	var got struct {
		SecretString  string   `json:"secret_string"`
		VersionStages []string `json:"version_stages"`
	}
	require.Equal(t, http.StatusOK, do(t, http.MethodGet, s.baseURL+"/v1/secrets"+name+":value", admin, nil, &got))
	require.Equal(t, canary, got.SecretString)
	require.Contains(t, got.VersionStages, "AWSCURRENT")

	req, err := http.NewRequest(http.MethodGet, s.baseURL+"/api/observability/secrets", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	require.Contains(t, string(body), name, "observability lists the secret")
	require.NotContains(t, string(body), canary, "observability never shows values")

	// The operator CLI reaches the same routes with dev.env.
	cli := exec.Command(filepath.Join(binDir, "rampart"), "secret", "get", name)
	cli.Env = append(devenv.Clean(), "RAMPART_URL="+s.baseURL, "RAMPART_ADMIN_KEY="+admin)
	out, err := cli.CombinedOutput()
	require.NoError(t, err, string(out))
	var fromCLI map[string]any
	require.NoError(t, json.Unmarshal(out, &fromCLI), string(out))
	require.Equal(t, canary, fromCLI["secret_string"])

	// Another tenant gets 404 for the same name: no existence leak.
	var tb struct {
		OwnerAPIKey string `json:"owner_api_key"`
	}
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/tenants", admin,
		map[string]any{"name": "tenant-secrets", "owner_subject": "owner@s.example"}, &tb))
	require.Equal(t, http.StatusNotFound, do(t, http.MethodGet, s.baseURL+"/v1/secrets"+name+":value", tb.OwnerAPIKey, nil, nil))

	// A key without secrets scopes is refused at the edge.
	var chatOnly createdKey
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/keys", admin,
		map[string]any{"name": "chat-only", "scopes": []string{"chat:write"}}, &chatOnly))
	require.Equal(t, http.StatusForbidden, do(t, http.MethodGet, s.baseURL+"/v1/secrets"+name+":value", chatOnly.APIKey, nil, nil))

	// The value is not stored in plaintext anywhere in the data dir.
	root, err := os.OpenRoot(filepath.Join(s.dir, "data"))
	require.NoError(t, err)
	defer root.Close()
	require.NoError(t, atrest.FilesIn(root, func(path string, data []byte) {
		require.NotContains(t, string(data), canary, "secret value in plaintext in %s", path)
	}))
}

// TestTenantShredThroughCLI: the operator crypto-shreds a tenant with
// `rampart tenant shred` (mTLS with the CLI certificate); its secrets are
// gone and nothing else is touched.
func TestTenantShredThroughCLI(t *testing.T) {
	s := startStack(t)
	admin := s.env["RAMPART_ADMIN_KEY"]
	var tc struct {
		Tenant struct {
			TenantID string `json:"tenant_id"`
		} `json:"tenant"`
		OwnerAPIKey string `json:"owner_api_key"`
	}
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/tenants", admin,
		map[string]any{"name": "tenant-shred", "owner_subject": "owner@shred.example"}, &tc))
	const name = "/dev/app/db/password"
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/secrets", tc.OwnerAPIKey,
		map[string]any{"name": name, "secret_string": "shred-me"}, nil))
	require.Equal(t, http.StatusOK, do(t, http.MethodGet, s.baseURL+"/v1/secrets"+name+":value", tc.OwnerAPIKey, nil, nil))

	cli := exec.Command(filepath.Join(binDir, "rampart"), "tenant", "shred", tc.Tenant.TenantID,
		"--cert-dir", s.env["RAMPART_CA_DIR"], "--keyvault-addr", s.env["RAMPART_KEYVAULT_ADDR"])
	cli.Env = devenv.Clean()
	out, err := cli.CombinedOutput()
	require.NoError(t, err, string(out))
	require.Contains(t, string(out), tc.Tenant.TenantID)

	code := do(t, http.MethodGet, s.baseURL+"/v1/secrets"+name+":value", tc.OwnerAPIKey, nil, nil)
	require.True(t, code == http.StatusNotFound || code == http.StatusBadRequest || code == http.StatusConflict,
		"a shredded tenant's secret must be gone, got %d", code)
	// The platform tenant is untouched.
	require.Equal(t, http.StatusOK, do(t, http.MethodGet, s.baseURL+"/v1/whoami", admin, nil, nil))
}

// TestEmptySecretValueRefused (ADR 0084): an empty value is refused through
// the real edge as 400 naming the field, for a new version and for an
// update; the secret keeps its value.
func TestEmptySecretValueRefused(t *testing.T) {
	s := startStack(t)
	admin := s.env["RAMPART_ADMIN_KEY"]
	const name = "/dev/app/token/empty-refused"
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/secrets", admin,
		map[string]any{"name": name, "secret_string": "kept"}, nil))
	for _, tc := range []struct {
		desc, method, path string
		body               map[string]any
	}{
		{"put", http.MethodPost, name + ":putValue", map[string]any{"secret_string": ""}},
		{"update", http.MethodPatch, name, map[string]any{"secret_string": ""}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			code, body := rawDo(t, tc.method, s.baseURL+"/v1/secrets"+tc.path, admin, tc.body)
			require.Equal(t, http.StatusBadRequest, code, string(body))
			var e struct {
				Error struct {
					Message string `json:"message"`
					Type    string `json:"type"`
					Param   string `json:"param"`
					Code    string `json:"code"`
				} `json:"error"`
			}
			require.NoError(t, json.Unmarshal(body, &e), string(body))
			require.Equal(t, "secret_string", e.Error.Param)
			require.Equal(t, "invalid_argument", e.Error.Code)
			require.Equal(t, "invalid_request_error", e.Error.Type)
			require.Contains(t, e.Error.Message, "must not be empty")
		})
	}
	var got struct {
		SecretString string `json:"secret_string"`
	}
	require.Equal(t, http.StatusOK, do(t, http.MethodGet, s.baseURL+"/v1/secrets"+name+":value", admin, nil, &got))
	require.Equal(t, "kept", got.SecretString)
}
