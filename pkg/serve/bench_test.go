package serve_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/rampart-platform/rampart/pkg/grpctest"
	"github.com/rampart-platform/rampart/pkg/latency"
	"github.com/rampart-platform/rampart/pkg/logging"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/pki"
	"github.com/rampart-platform/rampart/pkg/pki/pkitest"
	"github.com/rampart-platform/rampart/pkg/serve"
)

// BenchmarkMTLSUnaryRoundTrip is the performance floor for `make bench`: one
// small unary call over loopback mTLS 1.3, sequentially, on a warm
// connection. "bare" is a plain grpc.Server with mTLS credentials; "full_chain"
// is a serve.Server with every interceptor (request id, recovery, access log
// to io.Discard, metrics, authz, error mapping).
func BenchmarkMTLSUnaryRoundTrip(b *testing.B) {
	dir, _ := pkitest.NewDir(b, "auth", "edge")
	serverSrc, err := mtls.NewSource(mtls.FilesFor(dir, "auth"))
	require.NoError(b, err)
	clientSrc, err := mtls.NewSource(mtls.FilesFor(dir, "edge"))
	require.NoError(b, err)

	b.Run("bare", func(b *testing.B) {
		srv := grpc.NewServer(grpc.Creds(mtls.ServerCredentials(serverSrc)))
		registerTestService(srv, nil)
		roundTrips(b, grpctest.Serve(b, srv), clientSrc)
	})

	b.Run("full_chain", func(b *testing.B) {
		srv, err := serve.New(serve.Options{
			Name: "auth", ListenAddr: "127.0.0.1:0", TLS: serverSrc, AuthzPolicy: []byte(policy),
			Logger: logging.New(io.Discard, slog.LevelInfo), DrainDelay: -1,
		})
		require.NoError(b, err)
		registerTestService(srv.GRPC(), srv.Draining())
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- srv.Run(ctx) }()
		defer func() {
			cancel()
			require.NoError(b, <-done)
		}()
		roundTrips(b, srv.Addr().String(), clientSrc)
	})
}

func roundTrips(b *testing.B, addr string, src *mtls.Source) {
	conn, err := mtls.Dial(context.Background(), addr, src, pki.ServiceID("auth"))
	require.NoError(b, err)
	defer conn.Close()
	ctx := context.Background()
	in, out := wrapperspb.String("ping"), new(wrapperspb.StringValue)
	// Warm up: handshake and HTTP/2 settings are not part of a round trip.
	for range 100 {
		require.NoError(b, conn.Invoke(ctx, echoMethod, in, out))
	}

	lat := make([]time.Duration, 0, 1<<16)
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		if err := conn.Invoke(ctx, echoMethod, in, out); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	latency.Report(b, "", lat)
}
