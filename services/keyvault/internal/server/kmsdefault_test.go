package server_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awskms "github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/stretchr/testify/require"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/services/keyvault/internal/kms"
)

// TestAWSSMEmptyKMSKeyIsTheTenantsOwn (ADR 0069 §5): on the awssm backend
// with KMS=awskms, a secret created without kms_key_id is encrypted under
// the tenant's own KMS key (created first when the tenant has none yet),
// not Secrets Manager's account-wide default key, which the tenant's
// crypto-shred (the scheduled deletion of its key) does not delete.
func TestAWSSMEmptyKMSKeyIsTheTenantsOwn(t *testing.T) {
	h := newHarness(t, harnessOpts{backend: "awssm"})
	api := awskms.NewFromConfig(h.aws.AWSConfig())
	for _, tenant := range []string{"t1", "t2"} {
		own := kms.DefaultAliasPrefix + tenant
		_, err := api.DescribeKey(t.Context(), &awskms.DescribeKeyInput{KeyId: aws.String(own)})
		require.Error(t, err, "the tenant has no key before its first secret")

		c, ctx := h.admin(t, tenant)
		_, err = c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: "/dev/app/db/password", SecretString: "v"})
		require.NoError(t, err)
		d, err := c.DescribeSecret(ctx, &keyvaultv1.DescribeSecretRequest{Name: "/dev/app/db/password"})
		require.NoError(t, err)
		require.Equal(t, own, d.GetSecret().GetKmsKeyId(), "the tenant's own key, not the account default")
		k, err := api.DescribeKey(t.Context(), &awskms.DescribeKeyInput{KeyId: aws.String(own)})
		require.NoError(t, err, "the tenant's key was created for it")
		require.Equal(t, "Enabled", string(k.KeyMetadata.KeyState))

		// A second secret reuses the key.
		_, err = c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: "/dev/app/api/token", SecretString: "w"})
		require.NoError(t, err)
		d, err = c.DescribeSecret(ctx, &keyvaultv1.DescribeSecretRequest{Name: "/dev/app/api/token"})
		require.NoError(t, err)
		require.Equal(t, own, d.GetSecret().GetKmsKeyId())
	}
}
