package mtls_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/pki"
	"github.com/rampart-platform/rampart/pkg/pki/pkitest"
)

const whoAmI = "/rampart.test.v1.Test/WhoAmI"

// whoAmIDesc is a one-method service answering with the caller's SPIFFE ID,
// so the tests need no generated code.
var whoAmIDesc = grpc.ServiceDesc{
	ServiceName: "rampart.test.v1.Test",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "WhoAmI",
		Handler: func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			if err := dec(new(wrapperspb.StringValue)); err != nil {
				return nil, err
			}
			id, err := mtls.PeerID(ctx)
			if err != nil {
				return nil, status.Error(codes.Unauthenticated, err.Error())
			}
			return wrapperspb.String(id.String()), nil
		},
	}},
}

func startServer(t *testing.T, src *mtls.Source) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := grpc.NewServer(grpc.Creds(mtls.ServerCredentials(src)))
	srv.RegisterService(&whoAmIDesc, struct{}{})
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

func call(t *testing.T, conn *grpc.ClientConn) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	out := new(wrapperspb.StringValue)
	err := conn.Invoke(ctx, whoAmI, wrapperspb.String(""), out)
	return out.GetValue(), err
}

func TestFilesFor(t *testing.T) {
	require.Equal(t, mtls.Files{
		CertFile: filepath.Join("d", "auth.crt"),
		KeyFile:  filepath.Join("d", "auth.key"),
		CAFile:   filepath.Join("d", "ca.crt"),
	}, mtls.FilesFor("d", "auth"))
}

func TestNewSourceErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
	}{
		{name: "missing files", setup: func(*testing.T, string) {}},
		{name: "key of another cert", setup: func(t *testing.T, dir string) {
			ca := pkitest.New(t, dir)
			pkitest.Service(t, ca, dir, "auth")
			pkitest.Service(t, ca, dir, "edge")
			require.NoError(t, os.Rename(filepath.Join(dir, "edge.key"), filepath.Join(dir, "auth.key")))
		}},
		{name: "empty bundle", setup: func(t *testing.T, dir string) {
			ca := pkitest.New(t, dir)
			pkitest.Service(t, ca, dir, "auth")
			require.NoError(t, os.WriteFile(filepath.Join(dir, "ca.crt"), nil, 0o644))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.setup(t, dir)
			_, err := mtls.NewSource(mtls.FilesFor(dir, "auth"))
			require.Error(t, err)
		})
	}
}

func TestSourceReload(t *testing.T) {
	dir, ca := pkitest.NewDir(t, "auth")
	src, err := mtls.NewSource(mtls.FilesFor(dir, "auth"), mtls.WithCheckInterval(0))
	require.NoError(t, err)
	require.Equal(t, pki.ServiceID("auth"), src.ID().String())
	first := src.Certificate().Leaf.SerialNumber

	// A half-done rotation (new certificate, old key) keeps the old pair.
	certPEM, _, err := ca.IssueService("auth", time.Hour)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "auth.crt"), certPEM, 0o644))
	require.Equal(t, first, src.Certificate().Leaf.SerialNumber)
	require.Error(t, src.Reload())

	pkitest.Service(t, ca, dir, "auth")
	second := src.Certificate().Leaf.SerialNumber
	require.NotEqual(t, first, second)
}

func TestSourceCheckIntervalThrottles(t *testing.T) {
	dir, ca := pkitest.NewDir(t, "auth")
	src, err := mtls.NewSource(mtls.FilesFor(dir, "auth"), mtls.WithCheckInterval(time.Hour))
	require.NoError(t, err)
	first := src.Certificate().Leaf.SerialNumber

	pkitest.Service(t, ca, dir, "auth")
	require.Equal(t, first, src.Certificate().Leaf.SerialNumber, "no stat before the interval passes")
	require.NoError(t, src.Reload())
	require.NotEqual(t, first, src.Certificate().Leaf.SerialNumber)
}

func TestSourceWatch(t *testing.T) {
	dir, ca := pkitest.NewDir(t, "auth")
	src, err := mtls.NewSource(mtls.FilesFor(dir, "auth"), mtls.WithCheckInterval(time.Hour))
	require.NoError(t, err)
	first := src.Certificate().Leaf.SerialNumber

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- src.Watch(ctx, 10*time.Millisecond) }()
	pkitest.Service(t, ca, dir, "auth")
	require.Eventually(t, func() bool {
		return src.Certificate().Leaf.SerialNumber.Cmp(first) != 0
	}, 5*time.Second, 10*time.Millisecond)
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
}

func TestHandshake(t *testing.T) {
	dir, ca := pkitest.NewDir(t, "auth", "edge")
	pkitest.IssueExpired(t, ca, dir, "expired", pki.ServiceID("edge"))
	serverSrc, err := mtls.NewSource(mtls.FilesFor(dir, "auth"))
	require.NoError(t, err)
	addr := startServer(t, serverSrc)

	otherDir, _ := pkitest.NewDir(t, "edge")
	// A client trusting our CA but holding a certificate from another CA.
	require.NoError(t, os.Rename(filepath.Join(otherDir, "edge.crt"), filepath.Join(otherDir, "rogue.crt")))
	require.NoError(t, os.Rename(filepath.Join(otherDir, "edge.key"), filepath.Join(otherDir, "rogue.key")))
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(otherDir, "ca.crt"), caPEM, 0o644)) //nolint:gosec // test temp dir

	source := func(t *testing.T, dir, name string) *mtls.Source {
		src, err := mtls.NewSource(mtls.FilesFor(dir, name))
		require.NoError(t, err)
		return src
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)

	tests := []struct {
		name     string
		creds    func(t *testing.T) credentials.TransportCredentials
		wantCode codes.Code
		wantErr  string // for failures the client sees during the handshake; see TestServerRejectionReason
		wantID   string
	}{
		{
			name: "valid client",
			creds: func(t *testing.T) credentials.TransportCredentials {
				return mtls.ClientCredentials(source(t, dir, "edge"), pki.ServiceID("auth"))
			},
			wantID: pki.ServiceID("edge"),
		},
		{
			name: "server is not who we expect",
			creds: func(t *testing.T) credentials.TransportCredentials {
				return mtls.ClientCredentials(source(t, dir, "edge"), pki.ServiceID("keyvault"))
			},
			wantCode: codes.Unavailable,
			wantErr:  "want spiffe://rampart.local/svc/keyvault",
		},
		{
			name: "no client certificate",
			creds: func(*testing.T) credentials.TransportCredentials {
				return credentials.NewTLS(&tls.Config{RootCAs: roots, ServerName: "localhost", MinVersion: tls.VersionTLS13})
			},
			wantCode: codes.Unavailable,
		},
		{
			name: "client certificate from another CA",
			creds: func(t *testing.T) credentials.TransportCredentials {
				return mtls.ClientCredentials(source(t, otherDir, "rogue"), pki.ServiceID("auth"))
			},
			wantCode: codes.Unavailable,
		},
		{
			name: "expired client certificate",
			creds: func(t *testing.T) credentials.TransportCredentials {
				return mtls.ClientCredentials(source(t, dir, "expired"), pki.ServiceID("auth"))
			},
			wantCode: codes.Unavailable,
		},
		{
			name: "TLS 1.2 client",
			creds: func(t *testing.T) credentials.TransportCredentials {
				cfg := mtls.ClientTLSConfig(source(t, dir, "edge"), pki.ServiceID("auth"))
				cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
				return credentials.NewTLS(cfg)
			},
			wantCode: codes.Unavailable,
			wantErr:  "protocol version not supported",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(tt.creds(t)))
			require.NoError(t, err)
			defer conn.Close()
			id, err := call(t, conn)
			require.Equal(t, tt.wantCode, status.Code(err), "err: %v", err)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
			}
			require.Equal(t, tt.wantID, id)
		})
	}
}

func TestDial(t *testing.T) {
	dir, _ := pkitest.NewDir(t, "auth", "edge")
	serverSrc, err := mtls.NewSource(mtls.FilesFor(dir, "auth"))
	require.NoError(t, err)
	addr := startServer(t, serverSrc)
	clientSrc, err := mtls.NewSource(mtls.FilesFor(dir, "edge"))
	require.NoError(t, err)

	_, err = mtls.Dial(t.Context(), addr, clientSrc, "not-an-id")
	require.Error(t, err)

	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = mtls.Dial(cancelled, addr, clientSrc, pki.ServiceID("auth"))
	require.ErrorIs(t, err, context.Canceled)

	conn, err := mtls.Dial(t.Context(), addr, clientSrc, pki.ServiceID("auth"))
	require.NoError(t, err)
	defer conn.Close()
	id, err := call(t, conn)
	require.NoError(t, err)
	require.Equal(t, pki.ServiceID("edge"), id)
}

func TestPeerIDWithoutPeer(t *testing.T) {
	_, err := mtls.PeerID(t.Context())
	require.ErrorIs(t, err, mtls.ErrNoPeerID)
}

// TestServerRejectionReason checks why the server refuses a client. Over gRPC
// the client may see a broken pipe instead of the alert, depending on timing;
// a raw TLS connection that only reads after the handshake always gets it.
func TestServerRejectionReason(t *testing.T) {
	dir, ca := pkitest.NewDir(t, "auth", "edge")
	pkitest.IssueExpired(t, ca, dir, "expired", pki.ServiceID("edge"))
	otherDir, _ := pkitest.NewDir(t, "edge")
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(otherDir, "ca.crt"), caPEM, 0o644)) //nolint:gosec // test temp dir

	serverSrc, err := mtls.NewSource(mtls.FilesFor(dir, "auth"))
	require.NoError(t, err)
	lis, err := tls.Listen("tcp", "127.0.0.1:0", mtls.ServerTLSConfig(serverSrc))
	require.NoError(t, err)
	t.Cleanup(func() { _ = lis.Close() })
	go func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				tc, ok := c.(*tls.Conn)
				if !ok {
					return
				}
				if err := tc.Handshake(); err == nil {
					_, _ = c.Write([]byte("ok"))
				}
			}()
		}
	}()

	clientCfg := func(t *testing.T, dir, name string) *tls.Config {
		src, err := mtls.NewSource(mtls.FilesFor(dir, name))
		require.NoError(t, err)
		return mtls.ClientTLSConfig(src, pki.ServiceID("auth"))
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)

	tests := []struct {
		name    string
		cfg     func(t *testing.T) *tls.Config
		wantErr string
	}{
		{name: "valid", cfg: func(t *testing.T) *tls.Config { return clientCfg(t, dir, "edge") }},
		{name: "no certificate", cfg: func(*testing.T) *tls.Config {
			return &tls.Config{RootCAs: roots, ServerName: "localhost", MinVersion: tls.VersionTLS13}
		}, wantErr: "certificate required"},
		{name: "another CA", cfg: func(t *testing.T) *tls.Config { return clientCfg(t, otherDir, "edge") }, wantErr: "unknown certificate authority"},
		{name: "expired", cfg: func(t *testing.T) *tls.Config { return clientCfg(t, dir, "expired") }, wantErr: "expired certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := tls.Dial("tcp", lis.Addr().String(), tt.cfg(t))
			require.NoError(t, err, "TLS 1.3 clients finish before the server verifies them")
			defer conn.Close()
			require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
			buf := make([]byte, 2)
			_, err = io.ReadFull(conn, buf)
			if tt.wantErr == "" {
				require.NoError(t, err)
				require.Equal(t, "ok", string(buf))
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}
