package server_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/principal"
)

// TestAssertionsAreBoundToTheirService (authorization review 5, ADR 0083;
// closes ADR 0078's "found, not fixed"): an assertion a caller's request
// carried to keyvault — keyvault's own identity may call auth's RotateKey
// and GetKey (its crash recovery) — was valid at auth too, so a
// compromised keyvault could rotate (take over, ending it) any key whose
// holder read a secret in the last five minutes. Each assertion now names
// its service, and auth refuses one made for another; VerifyKey hands a
// service only the audiences the permission table lets it use.
func TestAssertionsAreBoundToTheirService(t *testing.T) {
	e := newEnv(t)
	a := e.acme(t)
	victim := e.ownKey(t, a.owner, &authv1.CreateKeyRequest{Name: "victim", Scopes: []string{"secrets:read", "keys:write"}})

	// What the edge forwards to keyvault on the victim's secret read.
	resp, err := authv1.NewAuthServiceClient(e.edge).VerifyKey(t.Context(), &authv1.VerifyKeyRequest{ApiKey: victim, Audiences: []string{"keyvault", "inference", "auth"}})
	require.NoError(t, err)
	by := principal.ByAudience(resp.GetAssertions())
	require.Len(t, by, 3)
	require.Equal(t, by["keyvault"], resp.GetAssertion(), "assertion is the first audience's")
	kc := authv1.NewKeyServiceClient(e.keyvault)
	for _, aud := range []string{"keyvault", "inference"} {
		ctx := metadata.AppendToOutgoingContext(t.Context(), principal.MetadataKey, by[aud])
		_, err = kc.RotateKey(ctx, &authv1.RotateKeyRequest{KeyId: victim[3:15], OverlapSeconds: 1})
		require.Equal(t, codes.Unauthenticated, code(err), "an assertion for %s replayed at auth: %v", aud, err)
		_, err = kc.GetKey(ctx, &authv1.GetKeyRequest{KeyId: victim[3:15]})
		require.Equal(t, codes.Unauthenticated, code(err), "%v", err)
		_, err = authv1.NewKeyServiceClient(e.edge).ListKeys(ctx, &authv1.ListKeysRequest{})
		require.Equal(t, codes.Unauthenticated, code(err), "through the edge's identity too: %v", err)
	}
	_, err = e.verify(t.Context(), victim)
	require.NoError(t, err, "the victim's key is untouched")
	ctx := metadata.AppendToOutgoingContext(t.Context(), principal.MetadataKey, by["auth"])
	_, err = authv1.NewKeyServiceClient(e.edge).ListKeys(ctx, &authv1.ListKeysRequest{})
	require.NoError(t, err, "the assertion for auth works at auth")

	// One payload for all of a key's audiences (ADR 0098): the delegation
	// for auth is its signature alone, rebuilt from keyvault's assertion
	// into exactly auth's; keyvault renaming its own audience is refused.
	kvTok := by["keyvault"]
	d := principal.Delegation(kvTok, "auth", by["auth"])
	require.NotContains(t, strings.TrimPrefix(d, "auth="), ".", "one payload: the signature alone")
	_, rebuilt, ok := principal.Delegated(kvTok, d)
	require.True(t, ok)
	require.Equal(t, by["auth"], rebuilt)
	ctx = metadata.AppendToOutgoingContext(t.Context(), principal.MetadataKey, strings.Replace(kvTok, ".keyvault.", ".auth.", 1))
	_, err = authv1.NewKeyServiceClient(e.edge).ListKeys(ctx, &authv1.ListKeysRequest{})
	require.Equal(t, codes.Unauthenticated, code(err), "keyvault's assertion renamed for auth: %v", err)

	verify := authv1.NewAuthServiceClient(e.keyvault)
	for _, tt := range []struct {
		name      string
		audiences []string
		want      codes.Code
	}{
		{"keyvault, for its own keys at auth", []string{"auth"}, codes.OK},
		{"keyvault asks for inference", []string{"inference"}, codes.PermissionDenied},
		{"keyvault asks for keyvault", []string{"auth", "keyvault"}, codes.PermissionDenied},
		{"no audience", nil, codes.InvalidArgument},
		{"a service not in the mesh", []string{"auth", "mallory"}, codes.PermissionDenied},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := verify.VerifyKey(t.Context(), &authv1.VerifyKeyRequest{ApiKey: victim, Audiences: tt.audiences})
			require.Equal(t, tt.want, code(err), "%v", err)
			if tt.want != codes.OK {
				require.Empty(t, r.GetAssertions())
			}
		})
	}
}
