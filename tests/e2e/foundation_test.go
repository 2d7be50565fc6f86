package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/rampart-platform/rampart/pkg/apikey"
	"github.com/rampart-platform/rampart/pkg/atrest"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/pki"
	"github.com/rampart-platform/rampart/tests/e2e/internal/devenv"
)

type errorBody struct {
	Error struct {
		Message string `json:"message"`
		Code    any    `json:"code"`
		Type    string `json:"type"`
	} `json:"error"`
}

func get(t *testing.T, url, key string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, body
}

func TestWhoAmI(t *testing.T) {
	s := startStack(t)
	admin := s.env["RAMPART_ADMIN_KEY"]
	require.NotEmpty(t, admin)
	_, err := apikey.Parse(admin)
	require.NoError(t, err, "bootstrap key must be a well-formed Rampart key")

	// A key with a valid checksum that auth never issued.
	unknown, err := apikey.Generate()
	require.NoError(t, err)
	// The admin key with one secret character changed: checksum now wrong.
	b := []byte(admin)
	if b[30] == 'x' {
		b[30] = 'y'
	} else {
		b[30] = 'x'
	}
	badChecksum := string(b)

	tests := []struct {
		name       string
		key        string
		wantStatus int
	}{
		{"bootstrap key", admin, http.StatusOK},
		{"no key", "", http.StatusUnauthorized},
		{"unknown key with valid checksum", unknown.Plaintext(), http.StatusUnauthorized},
		{"bad checksum", badChecksum, http.StatusUnauthorized},
		{"not a rampart key", "sk-abcdef", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := get(t, s.baseURL+"/v1/whoami", tt.key)
			require.Equal(t, tt.wantStatus, code, string(body))
			if tt.wantStatus == http.StatusOK {
				var who struct {
					TenantID string `json:"tenant_id"`
					KeyID    string `json:"key_id"`
				}
				require.NoError(t, json.Unmarshal(body, &who), string(body))
				require.Equal(t, s.env["RAMPART_TENANT_ID"], who.TenantID)
				require.Equal(t, admin[3:3+apikey.IDLen], who.KeyID)
				return
			}
			var eb errorBody
			require.NoError(t, json.Unmarshal(body, &eb), "error body must be JSON: %s", body)
			require.NotEmpty(t, eb.Error.Message)
			require.NotNil(t, eb.Error.Code)
			if len(tt.key) == apikey.Len {
				require.NotContains(t, string(body), tt.key[len(apikey.Prefix)+apikey.IDLen:], "error must not echo the key's secret")
			}
		})
	}
}

func TestEdgeHealth(t *testing.T) {
	s := startStack(t)
	for _, path := range []string{"/healthz", "/readyz"} {
		code, body := get(t, s.baseURL+path, "")
		require.Equal(t, http.StatusOK, code, "%s: %s", path, body)
	}
}

func TestServicesHealthyOverMTLS(t *testing.T) {
	s := startStack(t)
	certDir := s.env["RAMPART_CA_DIR"]
	cli, err := mtls.NewSource(mtls.FilesFor(certDir, "rampart-cli"))
	require.NoError(t, err)
	for _, svc := range []string{"auth", "keyvault", "inference", "ingestion", "slackadapter"} {
		t.Run(svc, func(t *testing.T) {
			addr := s.env["RAMPART_"+strings.ToUpper(svc)+"_ADDR"]
			require.NotEmpty(t, addr)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			conn, err := mtls.Dial(ctx, addr, cli, pki.ServiceID(svc))
			require.NoError(t, err)
			defer conn.Close()
			resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
			require.NoError(t, err)
			require.Equal(t, healthpb.HealthCheckResponse_SERVING, resp.GetStatus())
		})
	}
}

// TestNoKeyMaterialLeaks scans everything the stack wrote, except dev.env
// and the stack's own copy of it (which exist to hand the key to the
// developer, 0600), for the admin key's secret.
func TestNoKeyMaterialLeaks(t *testing.T) {
	s := startStack(t)
	// Exercise a few requests so logs have content.
	get(t, s.baseURL+"/v1/whoami", s.env["RAMPART_ADMIN_KEY"])
	secret := s.env["RAMPART_ADMIN_KEY"][3+apikey.IDLen : 3+apikey.IDLen+apikey.SecretLen]
	root, err := os.OpenRoot(filepath.Join(s.dir, "data"))
	require.NoError(t, err)
	defer root.Close()
	require.NoError(t, atrest.FilesIn(root, func(path string, data []byte) {
		if path != "dev.env" && path != "dev.sqlite.env" {
			require.NotContains(t, string(data), secret, "key secret found in %s", path)
		}
	}))
	for _, f := range []string{"dev.env", "dev.sqlite.env"} {
		fi, err := root.Stat(f)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), f)
	}
	require.NotContains(t, s.output.String(), secret, "key secret printed by rampart dev")
}

// TestHealthcheckMode runs every service binary the way the container health
// checks do (`<svc> healthcheck`, no shell in the image) against the running
// stack.
func TestHealthcheckMode(t *testing.T) {
	s := startStack(t)
	for _, svc := range []string{"auth", "keyvault", "inference", "ingestion", "slackadapter", "edge"} {
		t.Run(svc, func(t *testing.T) {
			prefix := "RAMPART_" + strings.ToUpper(svc) + "_"
			admin := s.env[prefix+"ADMIN_ADDR"]
			require.NotEmpty(t, admin)
			cmd := exec.Command(filepath.Join(binDir, svc), "healthcheck")
			cmd.Env = append(devenv.Clean(), prefix+"ADMIN_ADDR="+admin, "RAMPART_DATA_DIR="+filepath.Join(s.dir, "data"))
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s healthcheck: %s", svc, out)
		})
	}
}
