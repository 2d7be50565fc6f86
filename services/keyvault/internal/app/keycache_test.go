package app_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/status"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/pkg/principal"

	"github.com/rampart-platform/rampart/services/keyvault/internal/kms"
)

// keyCacheBound is how long a keyvault replica may keep using a tenant key
// another replica rotated or destroyed (kms.KeyCacheTTL, ADR 0072), with
// room for a loaded machine.
const keyCacheBound = kms.KeyCacheTTL + 2*time.Second

// TestKeyCachesAcrossReplicas runs two keyvault processes on one
// PostgreSQL and changes a tenant's keys through one of them: after a KEK
// rotation on replica A, replica B wraps new data keys under the new
// version; after a crypto-shred through A, B neither unwraps a data key it
// handed out before nor seals a new secret for the tenant. Both within
// the documented bound, not at B's next restart.
func TestKeyCachesAcrossReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs two keyvault processes")
	}
	rs := startReplicas(t, 2)
	tok, err := rs.signer.SignFor(&authv1.Principal{TenantId: "t1", Subject: "admin", KeyId: "k", Roles: []string{"admin"},
		Scopes: []string{"secrets:read", "secrets:write", "admin"}}, "keyvault", time.Time{})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(principal.AppendToOutgoing(context.Background(), tok), 2*time.Minute)
	defer cancel()

	type replica struct {
		kms     keyvaultv1.KmsServiceClient // as ingestion (policy action kms)
		rotate  keyvaultv1.KmsServiceClient // as the edge (RotateKey: action admin)
		secrets keyvaultv1.SecretsServiceClient
		admin   keyvaultv1.TenantAdminServiceClient
	}
	reps := make([]replica, len(rs.addrs))
	for i, addr := range rs.addrs {
		edge := dial(t, rs.certDir, addr, "edge")
		reps[i] = replica{kms: keyvaultv1.NewKmsServiceClient(dial(t, rs.certDir, addr, "ingestion")), rotate: keyvaultv1.NewKmsServiceClient(edge),
			secrets: keyvaultv1.NewSecretsServiceClient(edge), admin: keyvaultv1.NewTenantAdminServiceClient(dial(t, rs.certDir, addr, "auth"))}
	}
	a, b := reps[0], reps[1]
	encCtx := map[string]string{"purpose": "test"}

	// B caches the tenant's KEK (and, through a secret write, its data key).
	first, err := b.kms.GenerateDataKey(ctx, &keyvaultv1.GenerateDataKeyRequest{EncryptionContext: encCtx})
	require.NoError(t, err)
	_, err = b.secrets.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: "/dev/billing/db-password/before", SecretString: "v"})
	require.NoError(t, err)

	rot, err := a.rotate.RotateKey(ctx, &keyvaultv1.RotateKeyRequest{})
	require.NoError(t, err)
	require.NotEqual(t, first.GetKeyId(), rot.GetKeyId())
	require.Eventually(t, func() bool {
		dk, err := b.kms.GenerateDataKey(ctx, &keyvaultv1.GenerateDataKeyRequest{EncryptionContext: encCtx})
		return err == nil && dk.GetKeyId() == rot.GetKeyId()
	}, keyCacheBound, 50*time.Millisecond, "replica B still wraps under the KEK version replica A rotated away from")

	// Both replicas unwrap the data key before the shred.
	for _, r := range reps {
		_, err = r.kms.Decrypt(ctx, &keyvaultv1.DecryptRequest{CiphertextBlob: first.GetCiphertextBlob(), EncryptionContext: encCtx})
		require.NoError(t, err)
	}
	_, err = a.admin.ShredTenant(ctx, &keyvaultv1.ShredTenantRequest{TenantId: "t1"})
	require.NoError(t, err)
	_, err = a.kms.Decrypt(ctx, &keyvaultv1.DecryptRequest{CiphertextBlob: first.GetCiphertextBlob(), EncryptionContext: encCtx})
	require.Error(t, err, "the replica that shredded refuses at once")
	want := status.Code(err)
	var lastB error
	require.Eventually(t, func() bool {
		_, lastB = b.kms.Decrypt(ctx, &keyvaultv1.DecryptRequest{CiphertextBlob: first.GetCiphertextBlob(), EncryptionContext: encCtx})
		return status.Code(lastB) == want
	}, keyCacheBound, 50*time.Millisecond, "replica B still unwraps a shredded tenant's data key: %v", lastB)
	require.Eventually(t, func() bool {
		_, lastB = b.secrets.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: fmt.Sprintf("/dev/billing/db-password/after-%d", time.Now().UnixNano()), SecretString: "v"})
		return lastB != nil
	}, keyCacheBound, 50*time.Millisecond, "replica B still seals new secrets for a shredded tenant")
	_, err = a.secrets.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: "/dev/billing/db-password/after-a", SecretString: "v"})
	require.Error(t, err)
	require.Equal(t, status.Code(err), status.Code(lastB), "both replicas refuse the same way")
}
