package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/services/keyvault/internal/vault"
)

// wrapAudits returns the audit records of WrapForTenant calls.
func wrapAudits(t *testing.T, h *harness) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(h.auditLog)
	require.NoError(t, err)
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r))
		if r["action"] == "WrapForTenant" {
			out = append(out, r)
		}
	}
	return out
}

// TestWrapForTenant: inference's service identity alone gets a fresh data
// key of the tenant it names, wrapped under that tenant's key and bound to
// the context plus keyvault's marker; the key unwraps only through Decrypt
// on a principal of that tenant with that exact context; every call is
// audited; a crypto-shredded tenant gets FailedPrecondition and no key
// (ADR 0077).
func TestWrapForTenant(t *testing.T) {
	h := newHarness(t, harnessOpts{authz: true})
	ec := map[string]string{"tenant": "t1", "purpose": "rampart-inference-assistant-prompt"}
	wrap := func(t *testing.T, caller, tenant string, ec map[string]string) (*keyvaultv1.WrapForTenantResponse, error) {
		t.Helper()
		return keyvaultv1.NewKeyWrapServiceClient(h.as(t, caller).conn).WrapForTenant(context.Background(),
			&keyvaultv1.WrapForTenantRequest{TenantId: tenant, EncryptionContext: ec})
	}

	t.Run("allow-list: inference only", func(t *testing.T) {
		for _, caller := range []string{"edge", "ingestion", "auth", "rampart-cli", "slackadapter", "keyvault"} {
			_, err := wrap(t, caller, "t1", ec)
			requireCode(t, err, codes.PermissionDenied)
		}
		require.Empty(t, wrapAudits(t, h), "a refused caller gets nothing made")
	})

	resp, err := wrap(t, "inference", "t1", ec)
	require.NoError(t, err)
	require.Len(t, resp.GetPlaintext(), 32)
	require.NotEmpty(t, resp.GetCiphertextBlob())
	bound := maps.Clone(ec)
	bound[vault.WrapMarker] = "1"
	require.Equal(t, bound, resp.GetEncryptionContext())

	t.Run("fresh every time", func(t *testing.T) {
		again, err := wrap(t, "inference", "t1", ec)
		require.NoError(t, err)
		require.NotEqual(t, resp.GetPlaintext(), again.GetPlaintext())
	})

	t.Run("opens only for the tenant's principal, with the marker", func(t *testing.T) {
		kc := h.as(t, "inference").kms
		got, err := kc.Decrypt(h.ctx(t, "t1"), &keyvaultv1.DecryptRequest{CiphertextBlob: resp.GetCiphertextBlob(), EncryptionContext: bound})
		require.NoError(t, err)
		require.Equal(t, resp.GetPlaintext(), got.GetPlaintext())
		_, err = kc.Decrypt(h.ctx(t, "t1"), &keyvaultv1.DecryptRequest{CiphertextBlob: resp.GetCiphertextBlob(), EncryptionContext: ec})
		requireCode(t, err, codes.InvalidArgument, "does not decrypt")
		_, err = kc.Decrypt(h.ctx(t, "t2"), &keyvaultv1.DecryptRequest{CiphertextBlob: resp.GetCiphertextBlob(), EncryptionContext: bound})
		requireCode(t, err, codes.InvalidArgument, "does not decrypt")
		_, err = kc.Decrypt(context.Background(), &keyvaultv1.DecryptRequest{CiphertextBlob: resp.GetCiphertextBlob(), EncryptionContext: bound})
		requireCode(t, err, codes.Unauthenticated)
	})

	t.Run("bad input", func(t *testing.T) {
		for _, tc := range []struct {
			tenant string
			ec     map[string]string
			field  string
		}{
			{"", ec, "tenant_id"},
			{"t1/../t2", ec, "tenant_id"},
			{"t1", map[string]string{vault.WrapMarker: "1"}, "encryption_context"},
			{"t1", map[string]string{"": "x"}, "encryption_context"},
		} {
			_, err := wrap(t, "inference", tc.tenant, tc.ec)
			requireCode(t, err, codes.InvalidArgument, tc.field)
		}
	})

	t.Run("audited", func(t *testing.T) {
		recs := wrapAudits(t, h)
		require.Len(t, recs, 2, "one record per key made")
		for _, r := range recs {
			require.Equal(t, "t1", r["tenant"])
			require.Equal(t, "spiffe://rampart.local/svc/inference", r["caller"])
			require.Equal(t, "ok", r["result"])
		}
		log, err := os.ReadFile(h.auditLog)
		require.NoError(t, err)
		require.False(t, bytes.Contains(log, resp.GetPlaintext()), "no key material in the audit log")
	})

	t.Run("shredded tenant: no key", func(t *testing.T) {
		_, err := h.as(t, "auth").admin.ShredTenant(context.Background(), &keyvaultv1.ShredTenantRequest{TenantId: "t1"})
		require.NoError(t, err)
		got, err := wrap(t, "inference", "t1", ec)
		requireCode(t, err, codes.FailedPrecondition, "destroyed")
		require.Nil(t, got)
		recs := wrapAudits(t, h)
		require.Equal(t, "invalid", recs[len(recs)-1]["result"], "the refusal is audited")
		_, err = wrap(t, "inference", "t2", map[string]string{"tenant": "t2"})
		require.NoError(t, err, "another tenant is untouched")
	})
}
