package server

import (
	"context"
	"log/slog"

	"google.golang.org/protobuf/types/known/timestamppb"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/services/keyvault/internal/vault"
)

// TenantAdmin implements keyvaultv1.TenantAdminServiceServer. Its only
// guard is the per-method mTLS allow-list (auth and the operator CLI): it
// acts on a tenant named in the request, which may no longer exist in auth,
// so it takes no principal.
type TenantAdmin struct {
	keyvaultv1.UnimplementedTenantAdminServiceServer
	svc *vault.Service
	log *slog.Logger
}

// NewTenantAdmin returns the TenantAdminService handlers.
func NewTenantAdmin(svc *vault.Service, log *slog.Logger) *TenantAdmin {
	return &TenantAdmin{svc: svc, log: log}
}

// ShredTenant implements the RPC.
func (t *TenantAdmin) ShredTenant(ctx context.Context, r *keyvaultv1.ShredTenantRequest) (*keyvaultv1.ShredTenantResponse, error) {
	by := "unknown"
	if id, err := mtls.PeerID(ctx); err == nil {
		by = id.String()
	}
	res, err := t.svc.ShredTenant(ctx, by, r.GetTenantId())
	if err != nil {
		return nil, toStatus(ctx, t.log, err)
	}
	return &keyvaultv1.ShredTenantResponse{
		TenantId: r.GetTenantId(), ShredTime: timestamppb.New(res.ShreddedAt),
		SecretsErased:   int32(min(res.SecretsErased, 1<<31-1)), //nolint:gosec // clamped above
		AlreadyShredded: res.AlreadyErased,
	}, nil
}

// DeleteServiceSecret implements the RPC: the calling service (its mTLS
// identity, admitted by the allow-list: ingestion) deletes one secret it
// owns of the tenant the request names (ADR 0132 §1).
func (t *TenantAdmin) DeleteServiceSecret(ctx context.Context, r *keyvaultv1.DeleteServiceSecretRequest) (*keyvaultv1.DeleteServiceSecretResponse, error) {
	a := actor(ctx)
	a.Subject, a.KeyID, a.Roles, a.Scopes = "", "", nil, nil // no principal is taken, even one sent
	deleted, err := t.svc.DeleteServiceSecret(ctx, a, r.GetTenantId(), r.GetName())
	if err != nil {
		return nil, toStatus(ctx, t.log, err)
	}
	return &keyvaultv1.DeleteServiceSecretResponse{Deleted: deleted}, nil
}
