package keyvaulttest

import (
	"context"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/pki"
)

// tenantAdminMethods take no principal (as in keyvault: the tenant is in
// the request; the allow-list is their guard).
const tenantAdminMethods = "/rampart.keyvault.v1.TenantAdminService/*"

// DeleteServiceSecret implements TenantAdminService as keyvault does for
// ingestion (ADR 0132 §1): the calling service deletes one secret under its
// own "/{env}/{service}/" prefix of the named tenant, with no principal;
// Deleted lists it. Another service's or a tenant's name is refused; Fail
// on the name fails it.
func (s *Server) DeleteServiceSecret(ctx context.Context, r *keyvaultv1.DeleteServiceSecretRequest) (*keyvaultv1.DeleteServiceSecretResponse, error) {
	id, err := mtls.PeerID(ctx)
	if err != nil {
		return nil, status.Error(codes.PermissionDenied, "no peer identity")
	}
	svc, _ := strings.CutPrefix(id.String(), pki.ServiceID(""))
	if s.caller != "" && svc != s.caller {
		return nil, status.Error(codes.PermissionDenied, "caller not allowed")
	}
	if r.GetTenantId() == "" || r.GetName() == "" {
		return nil, status.Error(codes.InvalidArgument, "tenant_id and name: required")
	}
	parts := strings.SplitN(strings.TrimPrefix(r.GetName(), "/"), "/", 3)
	if len(parts) < 3 || parts[1] != svc {
		return nil, status.Errorf(codes.PermissionDenied, "%s may not delete %q", svc, r.GetName())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.fail[r.GetName()]; err != nil {
		return nil, err
	}
	k := r.GetTenantId() + "\x00" + r.GetName()
	if _, ok := s.secrets[k]; !ok {
		return &keyvaultv1.DeleteServiceSecretResponse{}, nil
	}
	delete(s.secrets, k)
	s.deleted = append(s.deleted, r.GetName())
	return &keyvaultv1.DeleteServiceSecretResponse{Deleted: true}, nil
}
