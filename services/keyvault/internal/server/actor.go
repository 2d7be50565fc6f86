package server

import (
	"context"

	"google.golang.org/grpc/metadata"

	"github.com/rampart-platform/rampart/pkg/logging"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/principal"
	"github.com/rampart-platform/rampart/services/keyvault/internal/vault"
)

// actor builds the vault actor from the verified principal and mTLS peer.
// Without a principal the tenant is empty and vault denies the request.
func actor(ctx context.Context) vault.Actor {
	var a vault.Actor
	if p, ok := principal.FromContext(ctx); ok {
		a.Tenant, a.Subject, a.KeyID = p.GetTenantId(), p.GetSubject(), p.GetKeyId()
		a.Roles, a.Scopes = p.GetRoles(), p.GetScopes()
	}
	if id, err := mtls.PeerID(ctx); err == nil {
		a.Caller = id.String()
	}
	a.RequestID = logging.RequestID(ctx)
	if a.RequestID == "" {
		if md, ok := metadata.FromIncomingContext(ctx); ok {
			if v := md.Get("x-request-id"); len(v) == 1 && len(v[0]) <= 128 {
				a.RequestID = v[0]
			}
		}
	}
	return a
}
