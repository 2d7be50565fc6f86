package app

import (
	"context"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/pkg/principal"
)

// KeyvaultSecrets is ingest.Secrets over keyvault's SecretsService, called
// with the caller's principal forwarded (secrets are the caller tenant's).
type KeyvaultSecrets struct {
	Client keyvaultv1.SecretsServiceClient
}

// Create implements ingest.Secrets.
func (k KeyvaultSecrets) Create(ctx context.Context, name string, value []byte) error {
	_, err := k.Client.CreateSecret(principal.ForwardTo(ctx, "keyvault"), &keyvaultv1.CreateSecretRequest{
		Name: name, SecretString: string(value), Description: "ingestion data-source connection",
	})
	return err
}

// Put implements ingest.Secrets.
func (k KeyvaultSecrets) Put(ctx context.Context, name string, value []byte) error {
	_, err := k.Client.PutSecretValue(principal.ForwardTo(ctx, "keyvault"), &keyvaultv1.PutSecretValueRequest{Name: name, SecretString: string(value)})
	return err
}

// Get implements ingest.Secrets.
func (k KeyvaultSecrets) Get(ctx context.Context, name string) ([]byte, error) {
	r, err := k.Client.GetSecretValue(principal.ForwardTo(ctx, "keyvault"), &keyvaultv1.GetSecretValueRequest{Name: name})
	if err != nil {
		return nil, err
	}
	return []byte(r.GetSecretString()), nil
}

// Delete implements ingest.Secrets (immediately, no recovery window: a
// disconnected source's tokens must not linger).
func (k KeyvaultSecrets) Delete(ctx context.Context, name string) error {
	_, err := k.Client.DeleteSecret(principal.ForwardTo(ctx, "keyvault"), &keyvaultv1.DeleteSecretRequest{Name: name, ForceDeleteWithoutRecovery: true})
	return err
}
