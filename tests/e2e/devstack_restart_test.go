package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/apikey"
	"github.com/rampart-platform/rampart/tests/e2e/internal/devenv"
)

// TestDevRestartAfterTheOtherStack restarts `rampart dev` on a data dir
// whose dev.env another kind of stack (`rampart dev --ha`, whose auth store
// is PostgreSQL) overwrote with its own admin key: the stack publishes the
// key of its own auth store again, not the other one's (which answered 401
// on everything, issue #16 follow-up). A revoked recorded key is replaced
// by a recovered owner key, and a data dir with no usable record left
// stops the start with what to remove.
func TestDevRestartAfterTheOtherStack(t *testing.T) {
	bin, err := buildBinaries()
	require.NoError(t, err)
	dir := t.TempDir()
	envPath := filepath.Join(dir, "data", "dev.env")

	s := mustLaunchIn(t, bin, dir)
	admin, tenant := s.env["RAMPART_ADMIN_KEY"], s.env["RAMPART_TENANT_ID"]
	// A second owner key of the same subject, so the first may be revoked.
	spare := mustKey(t, s, admin, map[string]any{"name": "spare", "subject": "admin@rampart.local", "scopes": []string{"admin"}})
	require.NoError(t, s.stop())

	foreign := foreignDevEnv(t, envPath)
	s = mustLaunchIn(t, bin, dir)
	require.Equal(t, admin, s.env["RAMPART_ADMIN_KEY"], "the key of this stack's auth store, not dev.env's")
	require.Equal(t, tenant, s.env["RAMPART_TENANT_ID"])
	require.Equal(t, http.StatusOK, do(t, http.MethodGet, s.baseURL+"/v1/whoami", s.env["RAMPART_ADMIN_KEY"], nil, nil))

	// The recorded key revoked: a new owner key for the same tenant.
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/keys/"+admin[3:3+apikey.IDLen]+":revoke", spare.APIKey, map[string]any{}, nil))
	require.NoError(t, s.stop())
	s = mustLaunchIn(t, bin, dir)
	require.NotEqual(t, admin, s.env["RAMPART_ADMIN_KEY"])
	require.Equal(t, tenant, s.env["RAMPART_TENANT_ID"])
	require.Equal(t, http.StatusOK, do(t, http.MethodGet, s.baseURL+"/v1/whoami", s.env["RAMPART_ADMIN_KEY"], nil, nil))
	require.Contains(t, s.output.String(), "has a new owner key")
	own, err := devenv.Read(filepath.Join(dir, "data", "dev.sqlite.env"))
	require.NoError(t, err)
	require.Equal(t, s.env["RAMPART_ADMIN_KEY"], own["RAMPART_ADMIN_KEY"], "the stack's own record follows")
	require.NoError(t, s.stop())

	// A data dir from before the per-stack records: only the other stack's
	// dev.env is left.
	require.NoError(t, os.Remove(filepath.Join(dir, "data", "dev.sqlite.env")))
	require.NoError(t, os.WriteFile(envPath, []byte(foreign), 0o600))
	s, err = launchIn(bin, dir)
	if err == nil {
		_ = s.stop()
	}
	require.ErrorContains(t, err, "remove "+filepath.Join(dir, "data", "auth"))
}

func mustLaunchIn(t *testing.T, bin, dir string) *stack {
	t.Helper()
	s, err := launchIn(bin, dir)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.stop() })
	return s
}

// foreignDevEnv rewrites dev.env as another stack would: its own key and
// tenant, which this stack's auth store has never seen. It returns the text.
func foreignDevEnv(t *testing.T, path string) string {
	t.Helper()
	k, err := apikey.Generate()
	require.NoError(t, err)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(l, "RAMPART_ADMIN_KEY="):
			l = "RAMPART_ADMIN_KEY=" + k.Plaintext()
		case strings.HasPrefix(l, "RAMPART_TENANT_ID="):
			l = "RAMPART_TENANT_ID=t_elsewhere"
		}
		lines = append(lines, l)
	}
	text := strings.Join(lines, "\n")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o600)) //nolint:gosec // G703: path is dev.env in the test's temp dir
	return text
}
