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

// TestRecoverOwnerTakesTheTenantAsArgument: like `tenant shred T` and
// `tenant suspend T`, recover-owner takes the tenant as its argument;
// --tenant keeps working, and both at once must name the same tenant.
func TestRecoverOwnerTakesTheTenantAsArgument(t *testing.T) {
	dir, _ := pkitest.NewDir(t, "auth", "rampart-cli")
	auth := authtest.Start(t, dir)

	for _, tc := range []struct {
		name       string
		args       []string
		wantTenant string // "" -> an error containing wantErr, and no call
		wantErr    string
	}{
		{name: "argument", args: []string{"t_arg"}, wantTenant: "t_arg"},
		{name: "flag", args: []string{"--tenant", "t_flag"}, wantTenant: "t_flag"},
		{name: "both agree", args: []string{"t_same", "--tenant", "t_same"}, wantTenant: "t_same"},
		{name: "both differ", args: []string{"t_a", "--tenant", "t_b"}, wantErr: `argument "t_a" and --tenant "t_b" differ`},
		{name: "neither", args: nil, wantErr: "recover-owner TENANT_ID"},
		{name: "two arguments", args: []string{"t_a", "t_b"}, wantErr: "at most 1 argument(s), got 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(auth.Recovered())
			var out, errOut bytes.Buffer
			args := append([]string{"tenant", "recover-owner", "--subject", "new@acme", "--cert-dir", dir, "--auth-addr", auth.Addr}, tc.args...)
			err := Run(t.Context(), args, &out, &errOut)
			calls := auth.Recovered()
			if tc.wantTenant == "" {
				require.ErrorContains(t, err, tc.wantErr)
				require.Len(t, calls, before, "no RPC on bad arguments")
				return
			}
			require.NoError(t, err)
			require.Len(t, calls, before+1)
			require.Equal(t, tc.wantTenant, calls[before].Req.GetTenantId())
		})
	}
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

	// Once bootstrapped, the error points at recovery in the positional
	// form that `tenant shred T` and `tenant suspend T` use too.
	err = Run(t.Context(), []string{"tenant", "bootstrap", "--owner", "ops@example.com",
		"--cert-dir", dir, "--auth-addr", auth.Addr}, &out, &errOut)
	require.ErrorContains(t, err, "AlreadyExists")
	require.ErrorContains(t, err, "rampart tenant recover-owner TENANT_ID)")
}
