package server

import (
	_ "embed"

	"google.golang.org/grpc"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
)

// DefaultPolicy is the embedded per-method caller allow-list: VerifyKey and
// WatchRevocations for the edge; GetSigningKeys and WatchTenantEvents for
// every Rampart service; GetTenantLimits for inference; VerifyKey, KeyService GetKey and RotateKey also for
// keyvault (its rampart-api-key rotation acts as the key it rotates, see
// docs/adr/0009-keyvault-rotates-api-keys.md); Bootstrap and RecoverOwner
// for the operator CLI; the REST-facing services for the edge. Health is open to any
// verified peer.
//
//go:embed policy.json
var DefaultPolicy []byte

// ExemptMethodNames are callable without a principal assertion: the ones
// the edge and backends call for themselves (mTLS + authz still apply).
// Everything else — all management RPCs and WhoAmI — needs one.
var ExemptMethodNames = []string{
	authv1.AuthService_VerifyKey_FullMethodName,
	authv1.AuthService_GetSigningKeys_FullMethodName,
	authv1.AuthService_WatchRevocations_FullMethodName,
	authv1.AuthService_WatchTenantEvents_FullMethodName,
	authv1.AuthService_GetTenantLimits_FullMethodName,
	authv1.AuthService_Bootstrap_FullMethodName,
	authv1.AuthService_RecoverOwner_FullMethodName,
}

// Register registers every auth service on g.
func Register(g *grpc.Server, s *Server) {
	authv1.RegisterAuthServiceServer(g, s)
	authv1.RegisterKeyServiceServer(g, s)
	authv1.RegisterTenantServiceServer(g, s)
	authv1.RegisterMemberServiceServer(g, s)
	authv1.RegisterAuditServiceServer(g, s)
}
