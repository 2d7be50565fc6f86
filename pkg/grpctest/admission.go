package grpctest

import (
	"context"
	"slices"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/permissions"
	"github.com/rampart-platform/rampart/pkg/pki"
	"github.com/rampart-platform/rampart/pkg/principal"
)

// Admission returns the interceptors with which a test double admits its
// callers as the Rampart service it stands in for does: the caller's mTLS
// identity must be one the permission table (pkg/permissions) lists for
// the method (a method the table does not list is refused: default deny),
// narrowed to callers (service names of the test PKI, e.g. "edge") when
// any are given. A refusal is PermissionDenied.
func Admission(callers ...string) (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor) {
	ids := make([]string, len(callers))
	for i, c := range callers {
		ids[i] = pki.ServiceID(c)
	}
	admitted := func(ctx context.Context, method string) error {
		id, err := mtls.PeerID(ctx)
		if err != nil {
			return status.Error(codes.PermissionDenied, "caller not allowed")
		}
		r, ok := permissions.Default().RPC(method)
		if !ok || !slices.Contains(r.CallerIDs(), id.String()) || len(ids) > 0 && !slices.Contains(ids, id.String()) {
			return status.Error(codes.PermissionDenied, "caller not allowed")
		}
		return nil
	}
	unary := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		if err := admitted(ctx, info.FullMethod); err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
	stream := func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, next grpc.StreamHandler) error {
		if err := admitted(ss.Context(), info.FullMethod); err != nil {
			return err
		}
		return next(srv, ss)
	}
	return unary, stream
}

// PrincipalExempt returns the methods of service (its full name, e.g.
// inferencev1.InferenceService_ServiceDesc.ServiceName) that the
// permission table serves without a principal assertion, for
// principal.UnaryServerInterceptor.
func PrincipalExempt(service string) principal.Exempt {
	var out []string
	for _, r := range permissions.Default().RPCs() {
		if r.Service() == "/"+service && !r.Principal {
			out = append(out, r.Name)
		}
	}
	return principal.ExemptMethods(out...)
}

// NewGuardedServer is NewMTLSServer for a double of service (its full
// name): callers admitted by the permission table (Admission, narrowed to
// callers when given) and principal assertions verified with keys on every
// method the table says needs one, in the order the services apply them.
func NewGuardedServer(t testing.TB, certDir, name, service string, keys principal.Keys, callers ...string) *grpc.Server {
	t.Helper()
	v := principal.NewVerifier(keys)
	exempt := PrincipalExempt(service)
	admitUnary, admitStream := Admission(callers...)
	return NewMTLSServer(t, certDir, name,
		grpc.ChainUnaryInterceptor(admitUnary, principal.UnaryServerInterceptor(v, exempt)),
		grpc.ChainStreamInterceptor(admitStream, principal.StreamServerInterceptor(v, exempt)))
}
