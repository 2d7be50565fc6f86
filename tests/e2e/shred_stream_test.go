package e2e

import (
	"context"
	"net/http"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/tests/e2e/internal/devenv"
)

// TestShredReachesCachedKeysAtOnce (ADR 0084): a tenant crypto-shredded
// through keyvault alone (`rampart tenant shred`, no purge in auth) can no
// longer use its data in ingestion or inference at once. Before, both held
// the tenant's unwrapped data key for up to 10 minutes (ingestion's
// KEY_TTL, inference's promptlog.KeyTTL) and kept opening its sealed
// chunks and system prompts with it. Now keyvault's WatchShreds stream
// drops the keys in every replica: the next search and the next read of
// the assistant fail within the stream's delivery (milliseconds; the
// deadline below only guards the test), while the tenant's API key still
// authenticates (auth knows nothing of the shred).
func TestShredReachesCachedKeysAtOnce(t *testing.T) {
	s := startStack(t)
	admin := s.env["RAMPART_ADMIN_KEY"]
	var tc struct {
		Tenant struct {
			TenantID string `json:"tenant_id"`
		} `json:"tenant"`
		OwnerAPIKey string `json:"owner_api_key"`
	}
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/tenants", admin,
		map[string]any{"name": "shred-stream", "owner_subject": "owner@shred-stream.example"}, &tc))
	key := tc.OwnerAPIKey
	const prompt = "SHRED-STREAM-PROMPT-7d21"

	// Ingestion: a document sealed with the tenant's data key, which
	// the search unwraps and caches.
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/collections", key, map[string]any{"name": "shred-kb"}, nil))
	ingestAndWait(t, s, key, "shred-kb", "door.md", "# Door\n\nThe archive door of Quillhaven opens at dawn.")
	search := func() (int, []byte) {
		return rawDo(t, http.MethodPost, s.baseURL+"/v1/search", key, map[string]any{"collection": "shred-kb", "query": "when does the archive door open", "top_k": 1})
	}
	code, body := search()
	require.Equal(t, http.StatusOK, code, string(body))
	require.Contains(t, string(body), "Quillhaven")

	// Inference: an assistant whose system prompt is sealed with the
	// tenant's prompt key, which the read unwraps and caches.
	code, body = rawDo(t, http.MethodPost, s.baseURL+"/v1/rampart/assistants", key,
		map[string]any{"name": "shred-asst", "model": "echo", "system_prompt": prompt})
	require.Equal(t, http.StatusOK, code, string(body))
	readAssistant := func() (int, []byte) {
		return rawDo(t, http.MethodGet, s.baseURL+"/v1/rampart/assistants/shred-asst", key, nil)
	}
	code, body = readAssistant()
	require.Equal(t, http.StatusOK, code, string(body))
	require.Contains(t, string(body), prompt)

	cli := exec.CommandContext(context.Background(), filepath.Join(binDir, "rampart"), "tenant", "shred", tc.Tenant.TenantID,
		"--cert-dir", s.env["RAMPART_CA_DIR"], "--keyvault-addr", s.env["RAMPART_KEYVAULT_ADDR"])
	cli.Env = devenv.Clean()
	out, err := cli.CombinedOutput()
	require.NoError(t, err, string(out))
	shredded := time.Now()

	for _, use := range []struct {
		name string
		call func() (int, []byte)
		leak string
	}{
		{"ingestion search", search, "Quillhaven"},
		{"inference assistant read", readAssistant, prompt},
	} {
		var code int
		var body []byte
		require.Eventually(t, func() bool {
			code, body = use.call()
			return code != http.StatusOK
		}, 5*time.Second, 20*time.Millisecond, "%s: the shredded tenant's cached key still opens its data", use.name)
		require.NotContains(t, string(body), use.leak)
		require.NotContains(t, string(body), "rpc error", "%s: keyvault's own message passed through (grpcerr.DataKey)", use.name)
		require.Less(t, code, 500, "%s: a client error, not a server failure: %s", use.name, body)
		t.Logf("%s refused %v after the shred returned: %d %s", use.name, time.Since(shredded).Round(time.Millisecond), code, body)
	}
	require.Equal(t, http.StatusOK, do(t, http.MethodGet, s.baseURL+"/v1/whoami", key, nil, nil), "auth still knows the key: only keyvault shredded")
}
