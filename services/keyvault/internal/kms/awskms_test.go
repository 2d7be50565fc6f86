package kms_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/awsfake"
	"github.com/rampart-platform/rampart/services/keyvault/internal/kms"
	"github.com/rampart-platform/rampart/services/keyvault/internal/store"
)

func TestAWSKMSProvider(t *testing.T) {
	f := awsfake.Start(t)
	p := kms.NewAWSKMSFromConfig(f.AWSConfig(), "")
	ctx := context.Background()
	ec := map[string]string{"purpose": "ingestion-chunks"}

	dk, err := p.GenerateDataKey(ctx, "t1", ec)
	require.NoError(t, err)
	require.Len(t, dk.Plaintext, kms.DataKeySize)
	require.Equal(t, "Enabled", f.KeyState("alias/rampart-tenant-t1"), "tenant key created on first use")
	require.Equal(t, 1, f.Calls("TrentService.CreateKey"))

	pt, keyID, err := p.Decrypt(ctx, "t1", dk.Wrapped, ec)
	require.NoError(t, err)
	require.Equal(t, dk.Plaintext, pt)
	require.Equal(t, dk.KeyID, keyID)

	// Second data key: the key is found by alias and cached, not recreated.
	_, err = p.GenerateDataKey(ctx, "t1", nil)
	require.NoError(t, err)
	require.Equal(t, 1, f.Calls("TrentService.CreateKey"))
	require.Equal(t, 1, f.Calls("TrentService.DescribeKey"))

	tests := []struct {
		name   string
		tenant string
		blob   []byte
		ec     map[string]string
		want   error
	}{
		{"other context", "t1", dk.Wrapped, map[string]string{"purpose": "other"}, kms.ErrDecrypt},
		{"no context", "t1", dk.Wrapped, nil, kms.ErrDecrypt},
		{"forged tenant in context", "t1", dk.Wrapped, map[string]string{"purpose": "ingestion-chunks", kms.TenantContextKey: "t2"}, nil},
		{"tampered", "t1", append(append([]byte{}, dk.Wrapped[:len(dk.Wrapped)-1]...), dk.Wrapped[len(dk.Wrapped)-1]^1), ec, kms.ErrDecrypt},
		{"garbage", "t1", []byte("x"), ec, kms.ErrDecrypt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pt, _, err := p.Decrypt(ctx, tt.tenant, tt.blob, tt.ec)
			if tt.want == nil {
				// The tenant entry always wins over a caller-supplied one.
				require.NoError(t, err)
				require.Equal(t, dk.Plaintext, pt)
				return
			}
			require.ErrorIs(t, err, tt.want)
		})
	}

	// Another tenant cannot open t1's key, even with the same context.
	_, err = p.GenerateDataKey(ctx, "t2", nil)
	require.NoError(t, err)
	_, _, err = p.Decrypt(ctx, "t2", dk.Wrapped, ec)
	require.ErrorIs(t, err, kms.ErrDecrypt)
	// A tenant that never had a key has nothing to decrypt with.
	_, _, err = p.Decrypt(ctx, "t3", dk.Wrapped, ec)
	require.ErrorIs(t, err, kms.ErrShredded)

	_, err = p.RotateTenantKey(ctx, "t1")
	require.NoError(t, err)
	_, _, err = p.Decrypt(ctx, "t1", dk.Wrapped, ec)
	require.NoError(t, err, "old data keys open after rotation")

	// Crypto-shred.
	require.NoError(t, p.DestroyTenant(ctx, "t1"))
	require.Equal(t, "PendingDeletion", f.KeyState("alias/rampart-tenant-t1"))
	_, _, err = p.Decrypt(ctx, "t1", dk.Wrapped, ec)
	require.ErrorIs(t, err, kms.ErrShredded)
	_, err = p.GenerateDataKey(ctx, "t1", nil)
	require.ErrorIs(t, err, kms.ErrShredded)
	require.NoError(t, p.DestroyTenant(ctx, "t1"), "idempotent")

	_, err = p.GenerateDataKey(ctx, "bad tenant!", nil)
	require.Error(t, err)
}

func TestAWSKMSThrottlingRetried(t *testing.T) {
	f := awsfake.Start(t)
	p := kms.NewAWSKMSFromConfig(f.AWSConfig(), "alias/custom-")
	f.CreateKey("alias/custom-t1")
	f.Throttle("TrentService.GenerateDataKey", 2)
	_, err := p.GenerateDataKey(context.Background(), "t1", nil)
	require.NoError(t, err)
	require.Equal(t, 3, f.Calls("TrentService.GenerateDataKey"))
	require.Zero(t, f.Calls("TrentService.CreateKey"), "an existing alias is used")
}

// TestEnvelopeOverAWSKMS seals and opens secret values with data keys from
// AWS KMS, checks the AAD binding and the crypto-shred.
func TestEnvelopeOverAWSKMS(t *testing.T) {
	f := awsfake.Start(t)
	st, err := store.Open(context.Background(), t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	env := kms.NewEnvelope(kms.NewAWSKMSFromConfig(f.AWSConfig(), ""), st)
	ctx := context.Background()
	ct, dek, err := env.Seal(ctx, "t1", "sec1", "v1", []byte("hunter2"))
	require.NoError(t, err)
	pt, err := env.Open(ctx, "t1", "sec1", "v1", dek, ct)
	require.NoError(t, err)
	require.Equal(t, "hunter2", string(pt))
	_, err = env.Open(ctx, "t1", "sec2", "v1", dek, ct)
	require.Error(t, err, "a ciphertext moved to another secret does not open")

	// A fresh envelope (restart) unwraps the stored data key through KMS.
	env2 := kms.NewEnvelope(kms.NewAWSKMSFromConfig(f.AWSConfig(), ""), st)
	pt, err = env2.Open(ctx, "t1", "sec1", "v1", dek, ct)
	require.NoError(t, err)
	require.Equal(t, "hunter2", string(pt))

	require.NoError(t, env2.Shred(ctx, "t1"))
	_, err = env2.Open(ctx, "t1", "sec1", "v1", dek, ct)
	require.ErrorIs(t, err, kms.ErrShredded)
}
