package server_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
)

// TestRevokeCascadeTakesTheKeysMadeWithIt (authorization review 8, ADR
// 0110 §1): a leaked member key with keys:write mints a key for its own
// subject with the same grant, and one from that, and rotates itself.
// Revoking the leaked key, as the runbook said, left every key it made
// working. Revoking it with cascade — also after it was revoked alone —
// revokes all of them, its replacement and what that made included, and
// nothing else: a key the owner made for the same account stays.
func TestRevokeCascadeTakesTheKeysMadeWithIt(t *testing.T) {
	forEachStore(t, revokeCascadeTakesTheKeysMadeWithIt)
}

func revokeCascadeTakesTheKeysMadeWithIt(t *testing.T, e *env) {
	a := e.acme(t)
	leaked := e.member(t, a.owner, "ci@acme", authv1.Role_ROLE_MEMBER, "chat:write", "keys:write")
	minted := e.ownKey(t, leaked, &authv1.CreateKeyRequest{Name: "stash", Scopes: []string{"chat:write", "keys:write"}})
	grandchild := e.ownKey(t, minted, &authv1.CreateKeyRequest{Name: "stash 2", Scopes: []string{"chat:write"}})
	rotated, err := a.kc.RotateKey(e.as(t, leaked), &authv1.RotateKeyRequest{KeyId: leaked[3:15], OverlapSeconds: 3600})
	require.NoError(t, err)
	replacement := rotated.GetApiKey()
	fromReplacement := e.ownKey(t, replacement, &authv1.CreateKeyRequest{Name: "stash 3", Scopes: []string{"chat:write"}})
	byOwner := e.ownKey(t, a.owner, &authv1.CreateKeyRequest{Name: "ci by owner", Subject: "ci@acme", Scopes: []string{"chat:write"}})

	// Revoking the key alone leaves what it made.
	resp, err := a.kc.RevokeKey(e.as(t, a.owner), &authv1.RevokeKeyRequest{KeyId: leaked[3:15]})
	require.NoError(t, err)
	require.Empty(t, resp.GetAlsoRevoked())
	e.requireLiveness(t, "alone/", []keyLiveness{
		{"the revoked key", leaked, false},
		{"minted with it", minted, true},
	}, "revoking one key revokes that key only")

	// With cascade, on the key already revoked: everything it made goes.
	resp, err = a.kc.RevokeKey(e.as(t, a.owner), &authv1.RevokeKeyRequest{KeyId: leaked[3:15], Cascade: true})
	require.NoError(t, err)
	require.Equal(t, authv1.KeyState_KEY_STATE_REVOKED, resp.GetKey().GetState())
	require.ElementsMatch(t, []string{minted[3:15], grandchild[3:15], replacement[3:15], fromReplacement[3:15]}, resp.GetAlsoRevoked())
	e.requireLiveness(t, "cascade/", []keyLiveness{
		{"minted with it", minted, false},
		{"minted from that", grandchild, false},
		{"its replacement", replacement, false},
		{"minted with the replacement", fromReplacement, false},
		{"made by the owner for the same account", byOwner, true},
		{"the owner's", a.owner, true},
	}, "the leaked key's holder held every key it made")

	// Each is audited as revoked along.
	ev, err := authv1.NewAuditServiceClient(e.edge).ListAuditEvents(e.as(t, a.owner), &authv1.ListAuditEventsRequest{PageSize: 50})
	require.NoError(t, err)
	cascaded := 0
	for _, r := range ev.GetEvents() {
		if r.GetAction() == "key.revoke.cascade" {
			cascaded++
		}
	}
	require.Equal(t, 4, cascaded)
}

// TestRevokeCascadeNeverStrandsTheTenant: a cascade that would revoke the
// tenant's last owner key is refused as a whole, like revoking that key.
func TestRevokeCascadeNeverStrandsTheTenant(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		a := e.acme(t)
		second := e.ownKey(t, a.owner, &authv1.CreateKeyRequest{Name: "owner 2", Scopes: []string{"admin"}})
		_, err := a.kc.RevokeKey(e.as(t, second), &authv1.RevokeKeyRequest{KeyId: a.owner[3:15], Cascade: true})
		require.Equal(t, codes.FailedPrecondition, code(err), "the other owner key was made with this one: %v", err)
		e.requireLiveness(t, "", []keyLiveness{
			{"the first owner key", a.owner, true},
			{"the one made with it", second, true},
		}, "a refused cascade changes nothing")
		resp, err := a.kc.RevokeKey(e.as(t, second), &authv1.RevokeKeyRequest{KeyId: a.owner[3:15]})
		require.NoError(t, err, "without cascade the other owner key stays")
		require.Empty(t, resp.GetAlsoRevoked())
	})
}
