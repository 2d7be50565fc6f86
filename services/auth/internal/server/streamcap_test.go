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

// TestPlatformStreamCap (ADR 0123 §3): who may set a tenant's stream cap,
// and what its principals then carry. Only the platform admin's value is
// carried as platform_max_concurrent_streams (which the edge lets replace
// its default, also above it); the owners' own value stays
// tenant_max_concurrent_streams (which only narrows), and within the
// platform's once it set one; an admin member, another tenant's owner and a
// member without scope admin cannot set it at all. The steps run in order,
// each on the state the previous left.
func TestPlatformStreamCap(t *testing.T) { forEachStore(t, platformStreamCap) }

func platformStreamCap(t *testing.T, e *env) {
	tid, owner := e.tenant(t, "acme")
	_, other := e.tenant(t, "globex")
	admin := e.member(t, owner, "admin@acme", authv1.Role_ROLE_ADMIN, "admin")
	member := e.member(t, owner, "member@acme", authv1.Role_ROLE_MEMBER, "chat:write")
	tc := authv1.NewTenantServiceClient(e.edge)
	for _, step := range []struct {
		name   string
		caller string
		set    int64
		want   codes.Code
		// the principal's values after the step
		platform, tenant int64
	}{
		{"owner above the edge's default: stored, carried as the tenant's own", owner, 300, codes.OK, 0, 300},
		{"platform above the edge's default: carried as the platform's", e.platformKey, 300, codes.OK, 300, 300},
		{"owner narrows within the platform's", owner, 150, codes.OK, 300, 150},
		{"owner above the platform's", owner, 301, codes.PermissionDenied, 300, 150},
		{"owner lifts it (0: none)", owner, 0, codes.PermissionDenied, 300, 150},
		{"admin member", admin, 200, codes.PermissionDenied, 300, 150},
		{"member", member, 200, codes.PermissionDenied, 300, 150},
		{"another tenant's owner", other, 400, codes.NotFound, 300, 150},
		{"platform raises it further", e.platformKey, 1000, codes.OK, 1000, 1000},
		{"platform clears it: the edge's default again", e.platformKey, 0, codes.OK, 0, 0},
	} {
		_, err := tc.UpdateTenantLimits(e.as(t, step.caller), &authv1.UpdateTenantLimitsRequest{TenantId: tid,
			Limits: &authv1.TenantLimits{MaxConcurrentStreams: step.set}})
		require.Equal(t, step.want, code(err), "%s: %v", step.name, err)
		resp, err := e.verify(t.Context(), member)
		require.NoError(t, err)
		l := resp.GetPrincipal().GetLimits()
		require.Equal(t, step.platform, l.GetPlatformMaxConcurrentStreams(), step.name)
		require.Equal(t, step.tenant, l.GetTenantMaxConcurrentStreams(), step.name)
	}
}
