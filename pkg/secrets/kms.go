package secrets

import (
	"context"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/pkg/principal"
)

// KeyvaultKMS is envelope encryption's key service over keyvault's
// KmsService: data keys for the tenant of the caller, whose principal
// assertion it forwards from the incoming call. Services that seal their own
// tenant data at rest (inference's prompt logs, ingestion's chunks) use it.
type KeyvaultKMS struct {
	Client keyvaultv1.KmsServiceClient
}

// GenerateDataKey returns a new data key in plaintext and wrapped under the
// caller tenant's key-encryption key, bound to the encryption context ec.
func (k KeyvaultKMS) GenerateDataKey(ctx context.Context, ec map[string]string) (plaintext, wrapped []byte, keyID string, err error) {
	r, err := k.Client.GenerateDataKey(principal.ForwardTo(ctx, "keyvault"), &keyvaultv1.GenerateDataKeyRequest{EncryptionContext: ec})
	if err != nil {
		return nil, nil, "", err
	}
	return r.GetPlaintext(), r.GetCiphertextBlob(), r.GetKeyId(), nil
}

// Decrypt unwraps a data key produced by GenerateDataKey with the same ec.
func (k KeyvaultKMS) Decrypt(ctx context.Context, wrapped []byte, ec map[string]string) ([]byte, error) {
	r, err := k.Client.Decrypt(principal.ForwardTo(ctx, "keyvault"), &keyvaultv1.DecryptRequest{CiphertextBlob: wrapped, EncryptionContext: ec})
	if err != nil {
		return nil, err
	}
	return r.GetPlaintext(), nil
}
