package serve_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/rampart-platform/rampart/pkg/grpctest"
	"github.com/rampart-platform/rampart/pkg/serve"
)

// listServices asks the server's reflection service for its services, as
// grpcurl's "list" does, as caller.
func listServices(t *testing.T, f *fixture, caller string) ([]string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	return grpctest.ListServices(ctx, f.client(caller))
}

func TestReflectionOnlyForTheOperatorCLI(t *testing.T) {
	f := start(t, func(o *serve.Options) { o.Reflection = true })

	names, err := listServices(t, f, "rampart-cli")
	require.NoError(t, err)
	require.Contains(t, names, "rampart.test.v1.Test")
	require.Contains(t, names, "grpc.health.v1.Health")

	// Health answers the CLI too (every verified peer may call it).
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	h, err := healthpb.NewHealthClient(f.client("rampart-cli")).Check(ctx, &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	require.Equal(t, healthpb.HealthCheckResponse_SERVING, h.GetStatus())

	for _, other := range []string{"edge", "ingestion"} {
		_, err := listServices(t, f, other)
		require.Equal(t, codes.PermissionDenied, status.Code(err), "%s: %v", other, err)
	}
}

func TestReflectionOff(t *testing.T) {
	f := start(t, nil)
	_, err := listServices(t, f, "rampart-cli")
	require.Equal(t, codes.Unimplemented, status.Code(err), "%v", err)
}
