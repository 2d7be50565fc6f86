package app

import (
	"context"
	"errors"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/pkg/principal"
)

// KeyvaultSecrets is ingest.Secrets over keyvault's SecretsService, called
// with the caller's principal forwarded (secrets are the caller tenant's).
type KeyvaultSecrets struct {
	Client keyvaultv1.SecretsServiceClient
	// Admin deletes a secret of a tenant that is not calling
	// (DeleteForTenant); nil refuses it.
	Admin keyvaultv1.TenantAdminServiceClient
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

// DeleteForTenant implements ingest.Secrets: keyvault's
// DeleteServiceSecret, with ingestion's identity and no principal (ADR
// 0132 §1).
func (k KeyvaultSecrets) DeleteForTenant(ctx context.Context, tenant, name string) error {
	if k.Admin == nil {
		return errors.New("no keyvault TenantAdminService client")
	}
	_, err := k.Admin.DeleteServiceSecret(ctx, &keyvaultv1.DeleteServiceSecretRequest{TenantId: tenant, Name: name})
	return err
}
