package server

import (
	"context"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/pkg/principal"
)

// KeyvaultKMS is keyring.KMS over keyvault's KmsService, called with the
// caller's principal forwarded so keyvault acts for the caller's tenant.
type KeyvaultKMS struct {
	Client keyvaultv1.KmsServiceClient
}

// GenerateDataKey implements keyring.KMS.
func (k KeyvaultKMS) GenerateDataKey(ctx context.Context, ec map[string]string) (plaintext, wrapped []byte, keyID string, err error) {
	r, err := k.Client.GenerateDataKey(principal.Forward(ctx), &keyvaultv1.GenerateDataKeyRequest{EncryptionContext: ec})
	if err != nil {
		return nil, nil, "", err
	}
	return r.GetPlaintext(), r.GetCiphertextBlob(), r.GetKeyId(), nil
}

// Decrypt implements keyring.KMS.
func (k KeyvaultKMS) Decrypt(ctx context.Context, wrapped []byte, ec map[string]string) ([]byte, error) {
	r, err := k.Client.Decrypt(principal.Forward(ctx), &keyvaultv1.DecryptRequest{CiphertextBlob: wrapped, EncryptionContext: ec})
	if err != nil {
		return nil, err
	}
	return r.GetPlaintext(), nil
}
