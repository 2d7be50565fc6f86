package grpctest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/pki"
)

// Dial connects to addr over mTLS as the <as> certificate of certDir,
// requiring the server to be the service named server
// (spiffe://rampart.local/svc/<server>); the connection is closed when the
// test ends.
func Dial(t testing.TB, certDir, as, addr, server string) *grpc.ClientConn {
	t.Helper()
	src, err := mtls.NewSource(mtls.FilesFor(certDir, as))
	require.NoError(t, err)
	conn, err := mtls.Dial(context.Background(), addr, src, pki.ServiceID(server))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}
