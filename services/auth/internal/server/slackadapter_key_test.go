package server_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/permissions"
	"github.com/rampart-platform/rampart/pkg/principal"
)

// Authorization review 7: the Slack adapter creates its tenant key on the
// installing admin's principal (its delegation for auth, which the edge
// hands the adapter with every Slack admin route). A compromised adapter
// could use that delegation to create any key the admin could — an
// admin-scoped key, its plaintext in the adapter's hands. The adapter's
// identity now creates only the key it needs: exactly its scopes, for the
// caller's own subject.
func TestSlackAdapterCreatesOnlyItsTenantKey(t *testing.T) {
	e := newEnv(t)
	a := e.acme(t)
	resp, err := authv1.NewAuthServiceClient(e.edge).VerifyKey(t.Context(), &authv1.VerifyKeyRequest{ApiKey: a.owner, Audiences: []string{"slackadapter", "auth"}})
	require.NoError(t, err)
	ctx := metadata.AppendToOutgoingContext(t.Context(), principal.MetadataKey, principal.ByAudience(resp.GetAssertions())["auth"])
	kc := authv1.NewKeyServiceClient(e.dial(t, "slackadapter"))
	for _, tt := range []struct {
		name string
		req  *authv1.CreateKeyRequest
		want codes.Code
	}{
		{"the adapter's key", &authv1.CreateKeyRequest{Name: "slackadapter", Scopes: permissions.SlackAdapterKeyScopes}, codes.OK},
		{"admin", &authv1.CreateKeyRequest{Name: "x", Scopes: []string{permissions.ScopeAdmin}}, codes.PermissionDenied},
		{"one more scope", &authv1.CreateKeyRequest{Name: "x", Scopes: append([]string{permissions.ScopeKeysWrite}, permissions.SlackAdapterKeyScopes...)}, codes.PermissionDenied},
		{"another subject", &authv1.CreateKeyRequest{Name: "x", Subject: "ci", Scopes: permissions.SlackAdapterKeyScopes}, codes.PermissionDenied},
		{"no scopes", &authv1.CreateKeyRequest{Name: "x"}, codes.PermissionDenied},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := kc.CreateKey(ctx, tt.req)
			require.Equal(t, tt.want, code(err), "%v", err)
			if tt.want != codes.OK {
				require.Empty(t, r.GetApiKey())
			}
		})
	}
	// The edge's identity, for the admin's own requests, is unchanged.
	_, err = authv1.NewKeyServiceClient(e.edge).CreateKey(e.as(t, a.owner), &authv1.CreateKeyRequest{Name: "ops", Scopes: []string{permissions.ScopeAdmin}})
	require.NoError(t, err)
}
