package server

import (
	"context"
	"log/slog"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/services/keyvault/internal/vault"
)

// KeyWrap implements keyvaultv1.KeyWrapServiceServer: WrapForTenant, the
// encrypt-only operation a service uses to seal for a tenant that is not
// calling (ADR 0077). Its guard is the per-method mTLS allow-list
// (inference only); it takes no principal, and the tenant is the one the
// request names, which is safe because the answer is a fresh key: nothing
// the tenant stored becomes readable through it.
type KeyWrap struct {
	keyvaultv1.UnimplementedKeyWrapServiceServer
	svc *vault.Service
	log *slog.Logger
}

// NewKeyWrap returns the KeyWrapService handlers.
func NewKeyWrap(svc *vault.Service, log *slog.Logger) *KeyWrap { return &KeyWrap{svc: svc, log: log} }

// WrapForTenant implements the RPC.
func (k *KeyWrap) WrapForTenant(ctx context.Context, r *keyvaultv1.WrapForTenantRequest) (*keyvaultv1.WrapForTenantResponse, error) {
	dk, bound, err := k.svc.WrapForTenant(ctx, actor(ctx), r.GetTenantId(), r.GetEncryptionContext())
	if err != nil {
		return nil, toStatus(ctx, k.log, err)
	}
	return &keyvaultv1.WrapForTenantResponse{Plaintext: dk.Plaintext, CiphertextBlob: dk.Wrapped, KeyId: dk.KeyID, EncryptionContext: bound}, nil
}
