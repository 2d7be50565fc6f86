package grpctest

import (
	"net"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/rampart-platform/rampart/pkg/mtls"
)

// NewMTLSServer returns a gRPC server presenting the <name> certificate of
// certDir (pkitest.NewDir(t, name, ...)) and requiring a client
// certificate of the same CA, with opts (interceptors, ...) after the
// credentials.
func NewMTLSServer(t testing.TB, certDir, name string, opts ...grpc.ServerOption) *grpc.Server {
	t.Helper()
	src, err := mtls.NewSource(mtls.FilesFor(certDir, name))
	require.NoError(t, err)
	return grpc.NewServer(append([]grpc.ServerOption{grpc.Creds(mtls.ServerCredentials(src))}, opts...)...)
}

// Serve serves srv on a new loopback port until the test ends (Stop, which
// closes the listener and every connection) and returns its address,
// 127.0.0.1:port. Register the services before calling it.
func Serve(t testing.TB, srv *grpc.Server) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}
