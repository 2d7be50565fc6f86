package server_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
)

// TestMintedKeysCannotBeLaundered (authorization review 2026-12-07): an
// admin who minted an admin key for a service account holds its
// plaintext, so she can rotate it with itself or mint further keys of the
// account with it. Those keys were recorded as made by the service account
// ("a key its holder rotated is hers") and survived her demotion and
// removal: she stayed admin through them. A key made by a key another
// member minted now carries that minter, so the ADR 0069 §1 revocation
// reaches every key she could have seen.
func TestMintedKeysCannotBeLaundered(t *testing.T) { forEachStore(t, mintedKeysCannotBeLaundered) }

func mintedKeysCannotBeLaundered(t *testing.T, e *env) {
	m := e.mintingAdmin(t)
	ciKey, kc := m.ci, m.kc
	ciOther := e.ownKey(t, m.alice, &authv1.CreateKeyRequest{Name: "ci 2", Subject: "ci@acme", Scopes: []string{"admin"}})

	// Alice, holding ci's keys, makes more of them: a self-rotation, a key
	// minted by ci's key for ci, one minted from that, and a rotation of
	// one ci key by the other.
	rotated, err := kc.RotateKey(e.as(t, ciKey), &authv1.RotateKeyRequest{KeyId: ciKey[3:15]})
	require.NoError(t, err)
	selfRotated := rotated.GetApiKey()
	minted := e.ownKey(t, ciKey, &authv1.CreateKeyRequest{Name: "ci minted", Subject: "ci@acme", Scopes: []string{"admin"}})
	grandchild := e.ownKey(t, minted, &authv1.CreateKeyRequest{Name: "ci minted 2", Subject: "ci@acme", Scopes: []string{"admin"}})
	byOther, err := kc.RotateKey(e.as(t, ciOther), &authv1.RotateKeyRequest{KeyId: minted[3:15]})
	require.NoError(t, err)
	// A key the owner minted for ci, and one made from it, are not alice's.
	ciByOwner := e.ownKey(t, m.owner, &authv1.CreateKeyRequest{Name: "ci by owner", Subject: "ci@acme", Scopes: []string{"admin"}})
	fromOwners := e.ownKey(t, ciByOwner, &authv1.CreateKeyRequest{Name: "ci from owner's", Subject: "ci@acme", Scopes: []string{"admin"}})

	m.demote(t, e)

	e.requireLiveness(t, "demoted/", []keyLiveness{
		{"rotated by itself", selfRotated, false},
		{"minted by a key she minted", minted, false},
		{"minted from that one", grandchild, false},
		{"rotated by another key she minted", byOther.GetApiKey(), false},
		{"minted by the owner", ciByOwner, true},
		{"made from the owner's key", fromOwners, true},
	}, "alice holds this key's plaintext or could have made it")
}

// TestRotatedOutKeyCannotTakeOverItsReplacement (authorization review
// 2026-12-07): a key leaks and its holder rotates it. The rotated-out key
// counted as its replacement ("self", for keyvault's crash recovery, ADR
// 0009), so whoever held the leak could rotate the replacement with a
// one-second overlap — killing the holder's new key — and receive a fresh
// key with the full lifetime, long after the leaked key's overlap ends.
// Only keyvault's identity may now act on a replacement as its
// predecessor; through the edge the rotated-out key is another key (needs
// keys:write and a grant covering the replacement, whose expiry is later).
func TestRotatedOutKeyCannotTakeOverItsReplacement(t *testing.T) {
	forEachStore(t, rotatedOutKeyCannotTakeOver)
}

func rotatedOutKeyCannotTakeOver(t *testing.T, e *env) {
	a := e.acme(t)
	kc := a.kc
	chat := e.ownKey(t, a.owner, &authv1.CreateKeyRequest{Name: "chat", Scopes: []string{"chat:write"}})
	writer := e.ownKey(t, a.owner, &authv1.CreateKeyRequest{Name: "writer", Scopes: []string{"chat:write", "keys:write"}})

	for _, tt := range []struct {
		name   string
		leaked string
		want   codes.Code
	}{
		{"without keys:write", chat, codes.PermissionDenied},
		{"with keys:write (the replacement outlives it: covering rule)", writer, codes.PermissionDenied},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := kc.RotateKey(e.as(t, a.owner), &authv1.RotateKeyRequest{KeyId: tt.leaked[3:15], OverlapSeconds: 3600})
			require.NoError(t, err)
			replacement := r.GetApiKey()

			got, err := kc.RotateKey(e.as(t, tt.leaked), &authv1.RotateKeyRequest{KeyId: replacement[3:15], OverlapSeconds: 1})
			require.Equal(t, tt.want, code(err), "%v", err)
			require.Empty(t, got.GetApiKey(), "no new plaintext for the leaked key")
			_, err = kc.RevokeKey(e.as(t, tt.leaked), &authv1.RevokeKeyRequest{KeyId: replacement[3:15]})
			require.Equal(t, codes.PermissionDenied, code(err), "nor may it revoke the holder's new key: %v", err)
			_, err = e.verify(t.Context(), replacement)
			require.NoError(t, err)

			// Keyvault's crash recovery still may (ADR 0009).
			ctx := e.as(t, tt.leaked)
			_, err = authv1.NewKeyServiceClient(e.keyvault).RotateKey(ctx, &authv1.RotateKeyRequest{KeyId: replacement[3:15]})
			require.NoError(t, err, "keyvault rotates the replacement acting as its predecessor")
		})
	}
}
