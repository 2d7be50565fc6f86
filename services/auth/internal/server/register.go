package server

import (
	"context"
	_ "embed"
	"fmt"
	"log/slog"
	"runtime/debug"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/authz"
	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/pkg/principal"
)

// DefaultPolicy is the embedded per-method caller allow-list: VerifyKey and
// WatchRevocations for the edge only; GetSigningKeys and WatchTenantEvents
// for every Rampart service; Bootstrap for the operator CLI; the
// REST-facing services for the edge. Health is open to any verified peer.
//
//go:embed policy.json
var DefaultPolicy []byte

// Exempt lists the methods callable without a principal assertion: the
// ones the edge and backends call for themselves (mTLS + authz still apply).
var Exempt = principal.ExemptMethods(
	authv1.AuthService_VerifyKey_FullMethodName,
	authv1.AuthService_GetSigningKeys_FullMethodName,
	authv1.AuthService_WatchRevocations_FullMethodName,
	authv1.AuthService_WatchTenantEvents_FullMethodName,
	authv1.AuthService_Bootstrap_FullMethodName,
)

// Register registers every auth service on g.
func Register(g *grpc.Server, s *Server) {
	authv1.RegisterAuthServiceServer(g, s)
	authv1.RegisterKeyServiceServer(g, s)
	authv1.RegisterTenantServiceServer(g, s)
	authv1.RegisterMemberServiceServer(g, s)
	authv1.RegisterAuditServiceServer(g, s)
}

// Interceptors returns auth's interceptor chains, outermost first: panic
// recovery, error mapping (pkg/grpcerr), the mTLS caller allow-list
// (pkg/authz), then the principal assertion check (pkg/principal) verified
// against auth's own signing keys.
func Interceptors(az *authz.Authorizer, keys principal.Keys, log *slog.Logger) ([]grpc.UnaryServerInterceptor, []grpc.StreamServerInterceptor) {
	v := principal.NewVerifier(keys)
	return []grpc.UnaryServerInterceptor{
			recoverUnary(log), grpcerr.UnaryServerInterceptor(log), az.UnaryInterceptor, principal.UnaryServerInterceptor(v, Exempt),
		}, []grpc.StreamServerInterceptor{
			recoverStream(log), grpcerr.StreamServerInterceptor(log), az.StreamInterceptor, principal.StreamServerInterceptor(v, Exempt),
		}
}

func recoverUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if r := recover(); r != nil {
				log.ErrorContext(ctx, "panic in handler", "method", info.FullMethod, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				err = status.Error(codes.Internal, grpcerr.InternalMessage)
			}
		}()
		return h(ctx, req)
	}
}

func recoverStream(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) (err error) {
		defer func() {
			if r := recover(); r != nil {
				log.ErrorContext(ss.Context(), "panic in handler", "method", info.FullMethod, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				err = status.Error(codes.Internal, grpcerr.InternalMessage)
			}
		}()
		return h(srv, ss)
	}
}
