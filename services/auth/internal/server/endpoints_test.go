package server_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
)

// TestEndpointListCannotReachASiblingVerb (escalation review 2026-12-06):
// a key limited to "/v1/secrets/" reaches secret names at the edge but not
// POST /v1/secrets:batchGet; it could mint a key for exactly that route,
// because the covering rule read "/v1/secrets/" as "/v1/secrets".
func TestEndpointListCannotReachASiblingVerb(t *testing.T) {
	e := newEnv(t)
	_, owner := e.tenant(t, "acme")
	limited := e.ownKey(t, owner, &authv1.CreateKeyRequest{Name: "secrets only", Scopes: []string{"secrets:read", "keys:write"},
		AllowedEndpoints: []string{"/v1/secrets/", "/v1/collections/handbook/documents/"}})
	kc := authv1.NewKeyServiceClient(e.edge)
	for _, ep := range []string{"/v1/secrets:batchGet", "/v1/collections/handbook/documents:crawl"} {
		_, err := kc.CreateKey(e.as(t, limited), &authv1.CreateKeyRequest{Name: "sibling", Scopes: []string{"secrets:read"}, AllowedEndpoints: []string{ep}})
		require.Equal(t, codes.PermissionDenied, code(err), "%s: %v", ep, err)
		require.Contains(t, status.Convert(err).Message(), "allowed_endpoints[0]")
	}
	_, err := kc.CreateKey(e.as(t, limited), &authv1.CreateKeyRequest{Name: "narrower", Scopes: []string{"secrets:read"},
		AllowedEndpoints: []string{"/v1/secrets/prod/app/"}})
	require.NoError(t, err, "a prefix inside the caller's is fine")
}
