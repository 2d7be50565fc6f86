package keyvaulttest

import (
	"context"
	"errors"
	"maps"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/pki"
)

// keyWrapMethods take no principal (as in keyvault: the tenant is in the
// request).
const keyWrapMethods = "/rampart.keyvault.v1.KeyWrapService/*"

// WrapMarker is the encryption-context entry keyvault adds to every
// WrapForTenant key (keyvault's vault.WrapMarker).
const WrapMarker = "rampart_wrap_for_tenant"

// WrapForTenant implements KeyWrapService as keyvault does: a fresh data
// key of the named tenant bound to the request's context plus WrapMarker;
// a shredded tenant gets FailedPrecondition. With Options.Caller set only
// that service may call it.
func (s *Server) WrapForTenant(ctx context.Context, r *keyvaultv1.WrapForTenantRequest) (*keyvaultv1.WrapForTenantResponse, error) {
	if s.caller != "" {
		if id, err := mtls.PeerID(ctx); err != nil || id.String() != pki.ServiceID(s.caller) {
			return nil, status.Error(codes.PermissionDenied, "caller not allowed")
		}
	}
	if r.GetTenantId() == "" {
		return nil, status.Error(codes.InvalidArgument, "tenant_id: required")
	}
	if _, ok := r.GetEncryptionContext()[WrapMarker]; ok {
		return nil, status.Error(codes.InvalidArgument, "encryption_context: the marker is added by keyvault")
	}
	bound := maps.Clone(r.GetEncryptionContext())
	if bound == nil {
		bound = map[string]string{}
	}
	bound[WrapMarker] = "1"
	p, w, err := s.KMS.Generate(r.GetTenantId(), bound)
	switch {
	case errors.Is(err, ErrShredded):
		return nil, status.Error(codes.FailedPrecondition, "tenant key destroyed")
	case err != nil:
		return nil, status.Error(codes.Internal, "generate")
	}
	s.wraps.Add(1)
	return &keyvaultv1.WrapForTenantResponse{Plaintext: p, CiphertextBlob: w, KeyId: KeyID, EncryptionContext: bound}, nil
}

// Wraps is the number of WrapForTenant keys made.
func (s *Server) Wraps() int64 { return s.wraps.Load() }
