package grpctest_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	slackadapterv1 "github.com/rampart-platform/rampart/gen/go/rampart/slackadapter/v1"
	"github.com/rampart-platform/rampart/pkg/grpctest"
	"github.com/rampart-platform/rampart/pkg/pki/pkitest"
)

func check(t *testing.T, conn *grpc.ClientConn) error {
	t.Helper()
	_, err := healthpb.NewHealthClient(conn).Check(t.Context(), &healthpb.HealthCheckRequest{})
	return err
}

// TestMTLSServer: the server presents its certificate, admits a client of
// the same CA, and refuses one without a certificate; Stop at the end of
// the test is the helper's.
func TestMTLSServer(t *testing.T) {
	dir, _ := pkitest.NewDir(t, "auth", "edge")
	gs := grpctest.NewMTLSServer(t, dir, "auth")
	healthpb.RegisterHealthServer(gs, health.NewServer())
	addr := grpctest.Serve(t, gs)
	require.Regexp(t, `^127\.0\.0\.1:\d+$`, addr)

	conn := grpctest.Dial(t, dir, "edge", addr, "auth")
	require.NoError(t, check(t, conn))
	require.Error(t, check(t, grpctest.Dial(t, dir, "edge", addr, "keyvault")), "the server is not keyvault")

	plain, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = plain.Close() })
	require.Error(t, check(t, plain), "a client without mTLS is refused")
}

// TestServeStopsWithTheTest: a plaintext server is served too, and is
// stopped when the (sub)test that started it ends.
func TestServeStopsWithTheTest(t *testing.T) {
	var addr string
	t.Run("serve", func(t *testing.T) {
		gs := grpc.NewServer()
		healthpb.RegisterHealthServer(gs, health.NewServer())
		addr = grpctest.Serve(t, gs)
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		require.NoError(t, err)
		t.Cleanup(func() { _ = conn.Close() })
		require.NoError(t, check(t, conn))
	})
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	require.Error(t, check(t, conn), "stopped when the subtest ended")
}

// TestAdmission: a caller is admitted where the permission table lists it
// for the method, narrowed to the given callers; a method the table does
// not list (here gRPC health) is refused.
func TestAdmission(t *testing.T) {
	dir, _ := pkitest.NewDir(t, "slackadapter", "edge", "rampart-cli")
	for _, tt := range []struct {
		name      string
		callers   []string
		as        string
		want      codes.Code
		wantCheck codes.Code
	}{
		{"listed", nil, "edge", codes.Unimplemented, codes.PermissionDenied},
		{"not listed for the method", nil, "rampart-cli", codes.PermissionDenied, codes.PermissionDenied},
		{"outside the given callers", []string{"rampart-cli"}, "edge", codes.PermissionDenied, codes.PermissionDenied},
	} {
		t.Run(tt.name, func(t *testing.T) {
			unary, stream := grpctest.Admission(tt.callers...)
			gs := grpctest.NewMTLSServer(t, dir, "slackadapter", grpc.ChainUnaryInterceptor(unary), grpc.ChainStreamInterceptor(stream))
			slackadapterv1.RegisterSlackAdapterServiceServer(gs, slackadapterv1.UnimplementedSlackAdapterServiceServer{})
			healthpb.RegisterHealthServer(gs, health.NewServer())
			addr := grpctest.Serve(t, gs)
			conn := grpctest.Dial(t, dir, tt.as, addr, "slackadapter")
			_, err := slackadapterv1.NewSlackAdapterServiceClient(conn).HandleEvent(t.Context(), &slackadapterv1.HandleEventRequest{})
			require.Equal(t, tt.want, status.Code(err), "HandleEvent (the edge's)")
			require.Equal(t, tt.wantCheck, status.Code(check(t, conn)), "health is not in the table")
		})
	}
}

// TestListServices: reflection lists the registered services; a server
// without reflection answers Unimplemented.
func TestListServices(t *testing.T) {
	for _, tt := range []struct {
		name       string
		reflection bool
		want       []string
		code       codes.Code
	}{
		{"with reflection", true, []string{"grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"}, codes.OK},
		{"without", false, nil, codes.Unimplemented},
	} {
		t.Run(tt.name, func(t *testing.T) {
			gs := grpc.NewServer()
			healthpb.RegisterHealthServer(gs, health.NewServer())
			if tt.reflection {
				reflection.Register(gs)
			}
			conn, err := grpc.NewClient(grpctest.Serve(t, gs), grpc.WithTransportCredentials(insecure.NewCredentials()))
			require.NoError(t, err)
			t.Cleanup(func() { _ = conn.Close() })
			names, err := grpctest.ListServices(t.Context(), conn)
			require.Equal(t, tt.code, status.Code(err), "%v", err)
			require.ElementsMatch(t, tt.want, names)
		})
	}
}
