package e2e

import (
	"bytes"
	"context"
	"encoding/binary"
	"net/http"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	pstore "github.com/rampart-platform/rampart/pkg/store"
	"github.com/rampart-platform/rampart/tests/e2e/internal/devenv"
)

// TestLegacyPromptSealedEagerly (ADR 0077 §2): an assistant row whose
// system prompt is stored in plaintext (as before ADR 0065) is sealed by
// inference at start-up, with no call of its tenant — keyvault's
// encrypt-only WrapForTenant, the sealed value carrying its own wrapped
// key (version 2). The tenant's read still returns the prompt; the same
// sealed value moved to another tenant does not open for that tenant's
// principal; once the tenant is crypto-shredded, a prompt still sealed
// that way is unreadable.
func TestLegacyPromptSealedEagerly(t *testing.T) {
	const canary = "LEGACY-E2E-CANARY-3f9a"
	bin, err := buildBinaries()
	require.NoError(t, err)
	dir := t.TempDir()
	s := mustLaunchIn(t, bin, dir)
	admin := s.env["RAMPART_ADMIN_KEY"]
	type created struct {
		Tenant struct {
			TenantID string `json:"tenant_id"`
		} `json:"tenant"`
		OwnerAPIKey string `json:"owner_api_key"`
	}
	var a, b created
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/tenants", admin,
		map[string]any{"name": "legacy-a", "owner_subject": "owner@legacy-a.example"}, &a))
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/tenants", admin,
		map[string]any{"name": "legacy-b", "owner_subject": "owner@legacy-b.example"}, &b))

	// Rows as a release before ADR 0065 wrote them: plaintext, nothing sealed.
	dbPath := filepath.Join(dir, "data", "inference", "usage.db")
	db, err := pstore.OpenSQLite(t.Context(), dbPath, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	prompt := map[string]string{"kb-read": "Read me. " + canary, "kb-kept": "Keep me. " + canary}
	for name, p := range prompt {
		_, err := db.ExecContext(t.Context(), `INSERT INTO assistants (tenant_id, name, model, collections, system_prompt, system_prompt_sealed, top_k, min_score, description, created_at_ms)
			VALUES (?, ?, 'echo', '[]', ?, NULL, 0, 0, '', ?)`, a.Tenant.TenantID, name, p, time.Now().UnixMilli())
		require.NoError(t, err)
	}
	require.NoError(t, s.stop())

	// Inference's start-up pass seals them; the tenant makes no call.
	s = mustLaunchIn(t, bin, dir)
	sealedOf := func(name string) (string, []byte) {
		var plain string
		var sealed []byte
		require.NoError(t, db.QueryRowContext(t.Context(), `SELECT system_prompt, system_prompt_sealed FROM assistants WHERE tenant_id = ? AND name = ?`,
			a.Tenant.TenantID, name).Scan(&plain, &sealed))
		return plain, sealed
	}
	require.Eventually(t, func() bool {
		plain, sealed := sealedOf("kb-kept")
		p2, s2 := sealedOf("kb-read")
		return plain == "" && p2 == "" && len(sealed) > 0 && len(s2) > 0
	}, 60*time.Second, 200*time.Millisecond, "legacy prompts sealed at start-up")
	for name := range prompt {
		_, sealed := sealedOf(name)
		require.Equal(t, byte(2), sealed[0], "version 2: the seal carries its own wrapped key")
		require.False(t, bytes.Contains(sealed, []byte(canary)))
	}

	get := func(key, name string) (int, []byte) {
		return rawDo(t, http.MethodGet, s.baseURL+"/v1/rampart/assistants/"+name, key, nil)
	}
	code, body := get(a.OwnerAPIKey, "kb-read")
	require.Equal(t, http.StatusOK, code, string(body))
	require.Contains(t, string(body), prompt["kb-read"], "the tenant reads its prompt")

	// The sealed value moved to another tenant: its principal unwraps
	// nothing (keyvault unwraps under the principal's tenant's key).
	_, kept := sealedOf("kb-kept")
	n := int(binary.BigEndian.Uint16(kept[1:3]))
	require.Greater(t, len(kept), 3+n)
	_, err = db.ExecContext(t.Context(), `INSERT INTO assistants (tenant_id, name, model, collections, system_prompt, system_prompt_sealed, top_k, min_score, description, created_at_ms)
		VALUES (?, 'kb-moved', 'echo', '[]', '', ?, 0, 0, '', ?)`, b.Tenant.TenantID, kept, time.Now().UnixMilli())
	require.NoError(t, err)
	code, body = get(b.OwnerAPIKey, "kb-moved")
	require.NotEqual(t, http.StatusOK, code, string(body))
	require.NotContains(t, string(body), canary)

	// Crypto-shred the tenant: the prompt still sealed with its own key
	// no longer opens.
	cli := exec.CommandContext(context.Background(), filepath.Join(bin, "rampart"), "tenant", "shred", a.Tenant.TenantID,
		"--cert-dir", s.env["RAMPART_CA_DIR"], "--keyvault-addr", s.env["RAMPART_KEYVAULT_ADDR"])
	cli.Env = devenv.Clean()
	out, err := cli.CombinedOutput()
	require.NoError(t, err, string(out))
	require.Eventually(t, func() bool {
		code, body := get(a.OwnerAPIKey, "kb-kept")
		return code != http.StatusOK && !bytes.Contains(body, []byte(canary))
	}, 10*time.Second, 200*time.Millisecond, "a shredded tenant's sealed prompt is unreadable")
}
