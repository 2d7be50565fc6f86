package server_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/services/keyvault/internal/store"
)

// shredCanary is in a value, a description and a tag of the shredded
// tenant: none may survive in the database files.
const shredCanary = "SHREDCANARY-41c7e0b2"

// seedTenant stores two secrets (value, description and tag carry the
// canary) and returns a data key the tenant got from GenerateDataKey.
func seedTenant(t *testing.T, h *harness, tenant string) *keyvaultv1.GenerateDataKeyResponse {
	t.Helper()
	cl := h.as(t, "edge")
	ctx := h.ctx(t, tenant, "admin")
	for _, n := range []string{"/dev/billing/db-password/primary", "/dev/chatops/token/bot"} {
		_, err := cl.secrets.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: n, SecretString: shredCanary + "-value-" + tenant,
			Description: shredCanary + "-old-description-" + tenant, Tags: []*keyvaultv1.Tag{{Key: "owner", Value: shredCanary + "-tag-" + tenant}}})
		require.NoError(t, err)
		// The replaced description lingers in the page's free space unless
		// the shred compacts the file.
		_, err = cl.secrets.UpdateSecret(ctx, &keyvaultv1.UpdateSecretRequest{Name: n, Description: ptr(shredCanary + "-description-" + tenant)})
		require.NoError(t, err)
	}
	dk, err := h.as(t, "ingestion").kms.GenerateDataKey(h.ctx(t, tenant), &keyvaultv1.GenerateDataKeyRequest{EncryptionContext: map[string]string{"doc": "1"}})
	require.NoError(t, err)
	return dk
}

// wrappedKEKs returns the tenant's wrapped key-encryption keys as stored.
func wrappedKEKs(t *testing.T, h *harness, tenant string) [][]byte {
	t.Helper()
	ks, err := h.st.TenantKEKs(context.Background(), tenant)
	require.NoError(t, err)
	var out [][]byte
	for _, k := range ks {
		if k.Wrapped != nil {
			out = append(out, k.Wrapped)
		}
	}
	return out
}

// dbFiles reads the SQLite database and its write-ahead log.
func dbFiles(t *testing.T, h *harness) []byte {
	t.Helper()
	var all []byte
	for _, f := range []string{store.DBFile, store.DBFile + "-wal"} {
		b, err := os.ReadFile(filepath.Join(h.dataDir, f))
		if err == nil {
			all = append(all, b...)
		}
	}
	require.NotEmpty(t, all)
	return all
}

func TestShredTenantRPC(t *testing.T) {
	h := newHarness(t, harnessOpts{authz: true})
	dk1 := seedTenant(t, h, "t1")
	seedTenant(t, h, "t2")
	keks := wrappedKEKs(t, h, "t1")
	require.NotEmpty(t, keks)

	t.Run("allow-list", func(t *testing.T) {
		for _, caller := range []string{"edge", "inference", "ingestion", "slackadapter", "keyvault"} {
			_, err := h.as(t, caller).admin.ShredTenant(h.ctx(t, "t1", "owner"), &keyvaultv1.ShredTenantRequest{TenantId: "t1"})
			requireCode(t, err, codes.PermissionDenied)
		}
		got, err := h.as(t, "edge").secrets.GetSecretValue(h.ctx(t, "t1", "admin"), &keyvaultv1.GetSecretValueRequest{Name: "/dev/billing/db-password/primary"})
		require.NoError(t, err, "denied shreds changed nothing")
		require.Equal(t, shredCanary+"-value-t1", got.GetSecretString())
	})

	t.Run("bad input", func(t *testing.T) {
		for _, id := range []string{"", "t1/../t2", "t 1", string(make([]byte, 129))} {
			_, err := h.as(t, "rampart-cli").admin.ShredTenant(context.Background(), &keyvaultv1.ShredTenantRequest{TenantId: id})
			requireCode(t, err, codes.InvalidArgument, "tenant_id")
		}
	})

	t.Run("auth shreds", func(t *testing.T) {
		resp, err := h.as(t, "auth").admin.ShredTenant(context.Background(), &keyvaultv1.ShredTenantRequest{TenantId: "t1"})
		require.NoError(t, err)
		require.Equal(t, int32(2), resp.GetSecretsErased())
		require.False(t, resp.GetAlreadyShredded())

		again, err := h.as(t, "rampart-cli").admin.ShredTenant(context.Background(), &keyvaultv1.ShredTenantRequest{TenantId: "t1"})
		require.NoError(t, err)
		require.True(t, again.GetAlreadyShredded())
		require.Zero(t, again.GetSecretsErased())
		require.True(t, resp.GetShredTime().AsTime().Equal(again.GetShredTime().AsTime()), "a repeat reports the first shred")
	})

	t.Run("shredded tenant's data is gone", func(t *testing.T) {
		requireShredded(t, h, "t1", dk1, keks)
	})

	t.Run("other tenant untouched", func(t *testing.T) {
		got, err := h.as(t, "edge").secrets.GetSecretValue(h.ctx(t, "t2", "admin"), &keyvaultv1.GetSecretValueRequest{Name: "/dev/billing/db-password/primary"})
		require.NoError(t, err)
		require.Equal(t, shredCanary+"-value-t2", got.GetSecretString())
	})
}

// requireShredded checks every way back to the tenant's data fails, and
// that the database files hold neither its plaintext nor its wrapped keys.
func requireShredded(t *testing.T, h *harness, tenant string, dk *keyvaultv1.GenerateDataKeyResponse, keks [][]byte) {
	t.Helper()
	ctx := h.ctx(t, tenant, "admin")
	cl := h.as(t, "edge")
	_, err := cl.secrets.GetSecretValue(ctx, &keyvaultv1.GetSecretValueRequest{Name: "/dev/billing/db-password/primary"})
	requireCode(t, err, codes.NotFound)
	list, err := cl.secrets.ListSecrets(ctx, &keyvaultv1.ListSecretsRequest{})
	require.NoError(t, err)
	require.Empty(t, list.GetSecrets())

	kc := h.as(t, "ingestion").kms
	_, err = kc.Decrypt(h.ctx(t, tenant), &keyvaultv1.DecryptRequest{CiphertextBlob: dk.GetCiphertextBlob(), EncryptionContext: map[string]string{"doc": "1"}})
	requireCode(t, err, codes.FailedPrecondition, "destroyed")
	_, err = kc.GenerateDataKey(h.ctx(t, tenant), &keyvaultv1.GenerateDataKeyRequest{})
	requireCode(t, err, codes.FailedPrecondition, "destroyed")
	_, err = cl.secrets.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: "/dev/billing/db-password/new", SecretString: "x"})
	requireCode(t, err, codes.FailedPrecondition, "destroyed")

	files := dbFiles(t, h)
	require.False(t, bytes.Contains(files, []byte(shredCanary+"-description-"+tenant)), "description survived")
	require.False(t, bytes.Contains(files, []byte(shredCanary+"-old-description-"+tenant)), "a replaced description survived")
	require.False(t, bytes.Contains(files, []byte(shredCanary+"-tag-"+tenant)), "tag survived")
	require.False(t, bytes.Contains(files, []byte(shredCanary+"-value-"+tenant)), "plaintext in the database")
	for _, k := range keks {
		require.False(t, bytes.Contains(files, k), "a wrapped key-encryption key survived in the database files")
	}
	require.Empty(t, wrappedKEKs(t, h, tenant))
}

func ptr[T any](v T) *T { return &v }
