package serve

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/protobuf/types/known/wrapperspb"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/logging"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/pki"
	"github.com/rampart-platform/rampart/pkg/pki/pkitest"
	"github.com/rampart-platform/rampart/pkg/principal"
)

// chainBench is a Server built as pkg/backend builds every backend's (the
// principal interceptor as its one Extra), and the context grpc-go hands a
// call from the edge: a verified mTLS peer, the request id and a principal
// assertion in the incoming metadata.
type chainBench struct {
	srv *Server
	ctx context.Context
}

const benchMethod = "/rampart.test.v1.Test/Echo"

func newChainBench(b *testing.B) chainBench {
	b.Helper()
	dir, _ := pkitest.NewDir(b, "inference", "edge")
	src, err := mtls.NewSource(mtls.FilesFor(dir, "inference"))
	require.NoError(b, err)
	edge, err := mtls.NewSource(mtls.FilesFor(dir, "edge"))
	require.NoError(b, err)

	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(b, err)
	signer, err := principal.NewSigner("k1", priv, time.Minute)
	require.NoError(b, err)
	token, err := signer.Sign(&authv1.Principal{TenantId: "t_0123456789", KeyId: "key_1", Scopes: []string{"admin"}}, time.Time{})
	require.NoError(b, err)
	verifier := principal.NewVerifier(principal.StaticKeys{"k1": pub}, principal.WithCache(100_000))
	exempt := principal.ExemptMethods()

	srv, err := New(Options{
		Name: "inference", ListenAddr: "127.0.0.1:0", TLS: src,
		AuthzPolicy: []byte(`{"rules":[{"methods":["/rampart.test.v1.Test/*"],"callers":["spiffe://rampart.local/svc/edge"]}]}`),
		Logger:      logging.New(io.Discard, slog.LevelInfo), DrainDelay: -1,
		ExtraUnary:  []grpc.UnaryServerInterceptor{principal.UnaryServerInterceptor(verifier, exempt)},
		ExtraStream: []grpc.StreamServerInterceptor{principal.StreamServerInterceptor(verifier, exempt)},
	})
	require.NoError(b, err)

	// One real call over mTLS from the edge: its peer (the connection's
	// verified certificate) is the benchmark's caller, and it leaves authz's
	// allow decision for (certificate, method) cached, as on every call
	// after a connection's first.
	var p *peer.Peer
	srv.GRPC().RegisterService(&grpc.ServiceDesc{
		ServiceName: "rampart.test.v1.Test", HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{MethodName: "Echo", Handler: func(_ any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
			in := new(wrapperspb.StringValue)
			if err := dec(in); err != nil {
				return nil, err
			}
			return ic(ctx, in, &grpc.UnaryServerInfo{FullMethod: benchMethod}, func(ctx context.Context, req any) (any, error) {
				p, _ = peer.FromContext(ctx)
				return req, nil
			})
		}}},
	}, struct{}{})
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(runCtx) }()
	conn, err := mtls.Dial(context.Background(), srv.Addr().String(), edge, pki.ServiceID("inference"))
	require.NoError(b, err)
	md := metadata.Pairs("x-request-id", "0123456789abcdef0123456789abcdef", principal.MetadataKey, token)
	err = conn.Invoke(metadata.NewOutgoingContext(context.Background(), md), benchMethod, wrapperspb.String("x"), new(wrapperspb.StringValue))
	require.NoError(b, err)
	require.NoError(b, conn.Close())
	cancel()
	require.NoError(b, <-done)
	require.NotNil(b, p)

	ctx := peer.NewContext(context.Background(), p)
	ctx = metadata.NewIncomingContext(ctx, metadata.MD{
		":authority": {"127.0.0.1:7003"}, "content-type": {"application/grpc"}, "user-agent": {"grpc-go/1.85.0"},
		"x-request-id": {"0123456789abcdef0123456789abcdef"}, principal.MetadataKey: {token},
	})
	return chainBench{srv: srv, ctx: ctx}
}

// BenchmarkUnaryChain is the per-call work of the server's interceptor
// chain, without the transport: request id, recovery, access log (encoded,
// written to io.Discard), metrics, authz, the principal assertion (from the
// verifier's cache, as on every call after a key's first) and the error
// mapping, around a handler that only checks the principal is there.
func BenchmarkUnaryChain(b *testing.B) {
	cb := newChainBench(b)
	// As grpc.ChainUnaryInterceptor chains them (chainUnary).
	chain := chainUnary(cb.srv.unaryInterceptors())
	info := &grpc.UnaryServerInfo{FullMethod: benchMethod}
	handler := func(ctx context.Context, req any) (any, error) {
		if _, ok := principal.FromContext(ctx); !ok {
			b.Fatal("no principal")
		}
		return req, nil
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := chain(cb.ctx, "req", info, handler); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStreamChain is BenchmarkUnaryChain for a server stream that
// sends three messages (a streamed chat completion's shape).
func BenchmarkStreamChain(b *testing.B) {
	cb := newChainBench(b)
	chain := chainStream(cb.srv.streamInterceptors())
	info := &grpc.StreamServerInfo{FullMethod: benchMethod, IsServerStream: true}
	ss := &benchStream{ctx: cb.ctx}
	handler := func(_ any, ss grpc.ServerStream) error {
		if _, ok := principal.FromContext(ss.Context()); !ok {
			b.Fatal("no principal")
		}
		if err := ss.RecvMsg(nil); err != nil {
			return err
		}
		for range 3 {
			if err := ss.SendMsg(nil); err != nil {
				return err
			}
		}
		return nil
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := chain(nil, ss, info, handler); err != nil {
			b.Fatal(err)
		}
	}
}

type benchStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *benchStream) Context() context.Context { return s.ctx }
func (s *benchStream) SendMsg(any) error        { return nil }
func (s *benchStream) RecvMsg(any) error        { return nil }
