package cli

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/authtest"
	"github.com/rampart-platform/rampart/pkg/pki/pkitest"
)

func TestRecoverOwnerSpeaksMTLSAsTheCLI(t *testing.T) {
	dir, _ := pkitest.NewDir(t, "auth", "rampart-cli")
	auth := authtest.Start(t, dir)

	var out, errOut bytes.Buffer
	require.NoError(t, Run(t.Context(), []string{"tenant", "recover-owner", "--tenant", "t_1", "--subject", "new@acme",
		"--cert-dir", dir, "--auth-addr", auth.Addr}, &out, &errOut))
	calls := auth.Recovered()
	require.Len(t, calls, 1)
	require.Equal(t, "spiffe://rampart.local/svc/rampart-cli", calls[0].Peer)
	require.Equal(t, "t_1", calls[0].Req.GetTenantId())
	require.Equal(t, "new@acme", calls[0].Req.GetSubject())
	var got map[string]string
	require.NoError(t, json.Unmarshal(out.Bytes(), &got))
	require.Equal(t, calls[0].Key, got["api_key"])
	tenant, _, ok := auth.Verify(got["api_key"])
	require.True(t, ok, "the printed key is the one auth issued")
	require.Equal(t, "t_1", tenant)
	require.Contains(t, errOut.String(), "shown once")

	err := Run(t.Context(), []string{"tenant", "recover-owner", "--cert-dir", dir, "--auth-addr", auth.Addr}, &out, &errOut)
	require.ErrorContains(t, err, "--tenant")
}

// TestBootstrapSpeaksMTLSAsTheCLI: `rampart tenant bootstrap` asks auth for
// the first tenant and prints the owner key it issued, once.
func TestBootstrapSpeaksMTLSAsTheCLI(t *testing.T) {
	dir, _ := pkitest.NewDir(t, "auth", "rampart-cli")
	auth := authtest.Start(t, dir)

	var out, errOut bytes.Buffer
	require.NoError(t, Run(t.Context(), []string{"tenant", "bootstrap", "--name", "platform", "--owner", "ops@example.com",
		"--cert-dir", dir, "--auth-addr", auth.Addr}, &out, &errOut))
	var got map[string]string
	require.NoError(t, json.Unmarshal(out.Bytes(), &got))
	require.Equal(t, "t_platform", got["tenant_id"])
	require.Equal(t, "ops@example.com", got["subject"])
	tenant, _, ok := auth.Verify(got["api_key"])
	require.True(t, ok, "the printed key is the one auth issued")
	require.Equal(t, "t_platform", tenant)
	require.Contains(t, errOut.String(), "shown once")

	err := Run(t.Context(), []string{"tenant", "bootstrap", "--cert-dir", dir, "--auth-addr", auth.Addr}, &out, &errOut)
	require.ErrorContains(t, err, "--owner is required")
}
