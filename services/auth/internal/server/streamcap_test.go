package server_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
)

// ADR 0111 §3: a tenant's cap on concurrent chat streams is one of its
// limits (max_concurrent_streams): stored, answered, carried in its keys'
// principals (tenant_max_concurrent_streams, which the edge enforces), and
// within the platform's ceiling like the other limits.
func TestTenantStreamCap(t *testing.T) { forEachStore(t, tenantStreamCap) }

func tenantStreamCap(t *testing.T, e *env) {
	tid, owner := e.tenant(t, "acme")
	tc := authv1.NewTenantServiceClient(e.edge)
	set := func(key string, l *authv1.TenantLimits) error {
		_, err := tc.UpdateTenantLimits(e.as(t, key), &authv1.UpdateTenantLimitsRequest{TenantId: tid, Limits: l})
		return err
	}
	streams := func() int64 {
		resp, err := e.verify(t.Context(), owner)
		require.NoError(t, err)
		return resp.GetPrincipal().GetLimits().GetTenantMaxConcurrentStreams()
	}
	require.Zero(t, streams(), "none set: the edge's default")

	err := set(owner, &authv1.TenantLimits{MaxConcurrentStreams: -1})
	require.Equal(t, codes.InvalidArgument, code(err), "%v", err)
	require.NoError(t, set(owner, &authv1.TenantLimits{MaxConcurrentStreams: 40}))
	require.EqualValues(t, 40, streams())
	got, err := tc.GetTenant(e.as(t, owner), &authv1.GetTenantRequest{TenantId: tid})
	require.NoError(t, err)
	require.EqualValues(t, 40, got.GetTenant().GetLimits().GetMaxConcurrentStreams())

	// The platform's cap is a ceiling: owners narrow within it only.
	require.NoError(t, set(e.platformKey, &authv1.TenantLimits{MaxConcurrentStreams: 50}))
	require.EqualValues(t, 50, streams())
	for _, l := range []*authv1.TenantLimits{{}, {MaxConcurrentStreams: 51}} {
		err := set(owner, l)
		require.Equal(t, codes.PermissionDenied, code(err), "%v", err)
		require.Contains(t, status.Convert(err).Message(), "limits.max_concurrent_streams:")
	}
	require.NoError(t, set(owner, &authv1.TenantLimits{MaxConcurrentStreams: 10}))
	require.EqualValues(t, 10, streams())
}
