package server_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
)

// Authorization review 2026-12-06 night (ADR 0069 §1): a key an admin
// minted for another member or a service account kept its grant after the
// admin was demoted or removed. The admin saw its plaintext when she made
// it, so the demotion did not take her admin rights away: she went on
// acting as admin through the service account's key. A role change or a
// removal now revokes every live key the subject minted (created, or
// rotated for another) that its new role no longer covers.

func TestDemotionRevokesKeysTheCreatorNoLongerCovers(t *testing.T) {
	forEachStore(t, demotionRevokesMintedKeys)
}

func demotionRevokesMintedKeys(t *testing.T, e *env) {
	m := e.mintingAdmin(t)
	owner, alice, kc := m.owner, m.alice, m.kc
	_, err := m.mc.CreateMember(e.as(t, alice), &authv1.CreateMemberRequest{Subject: "bob@acme", Role: authv1.Role_ROLE_MEMBER})
	require.NoError(t, err)
	ciSecrets := e.ownKey(t, alice, &authv1.CreateKeyRequest{Name: "ci secrets", Subject: "ci@acme", Scopes: []string{"secrets:write"}})
	bobChat := e.ownKey(t, alice, &authv1.CreateKeyRequest{Name: "bob", Subject: "bob@acme", Scopes: []string{"chat:write"}})
	// A key the owner minted for ci is not alice's to lose.
	ciByOwner := e.ownKey(t, owner, &authv1.CreateKeyRequest{Name: "ci by owner", Subject: "ci@acme", Scopes: []string{"admin"}})
	// A key alice rotated for ci is hers too: she saw the replacement.
	rotated, err := kc.RotateKey(e.as(t, alice), &authv1.RotateKeyRequest{KeyId: ciByOwner[3:15]})
	require.NoError(t, err)
	ciRotated := rotated.GetApiKey()

	m.demote(t, e)

	e.requireLiveness(t, "demoted/", []keyLiveness{
		{"admin key for an admin service account", m.ci, false},
		{"member-level scope, but a subject above member", ciSecrets, false},
		{"replacement she rotated for the service account", ciRotated, false},
		{"within a member's reach", bobChat, true},
		{"her own key (narrowed by her role at verification)", alice, true},
	}, "a key above its creator's new role must stop working")

	m.remove(t, e)
	_, err = e.verify(t.Context(), bobChat)
	require.Equal(t, codes.Unauthenticated, code(err), "a removed member's minted keys go with her: %v", err)
	_, err = e.verify(t.Context(), ciByOwner)
	require.NoError(t, err, "the rotated-out key is the owner's and in its overlap")
}

// TestDemotionNeverStrandsTheTenant: an owner key minted by the owner being
// demoted would be revoked; when it is the tenant's last other owner key the
// demotion is refused. Its holder rotating it herself does not help any
// more (the demoted owner knew the rotated-out key and could have rotated it
// herself, ADR 0078 §1); an owner key the operator recovered for her does.
func TestDemotionNeverStrandsTheTenant(t *testing.T) { forEachStore(t, demotionNeverStrands) }

func demotionNeverStrands(t *testing.T, e *env) {
	a := e.acme(t)
	owner, mc, kc := a.owner, a.mc, a.kc
	second := e.member(t, owner, "second@acme", authv1.Role_ROLE_OWNER, "admin")
	firstID := memberID(t, e, owner, "owner@acme")

	_, err := mc.UpdateMember(e.as(t, second), &authv1.UpdateMemberRequest{MemberId: firstID, Role: authv1.Role_ROLE_ADMIN})
	require.Equal(t, codes.FailedPrecondition, code(err), "the only other owner key was minted by the owner being demoted: %v", err)
	_, err = e.verify(t.Context(), second)
	require.NoError(t, err, "nothing changed")

	rotated, err := kc.RotateKey(e.as(t, second), &authv1.RotateKeyRequest{KeyId: second[3:15], OverlapSeconds: 1})
	require.NoError(t, err)
	mine := rotated.GetApiKey()
	e.clock.Advance(2e9)
	_, err = mc.UpdateMember(e.as(t, mine), &authv1.UpdateMemberRequest{MemberId: firstID, Role: authv1.Role_ROLE_ADMIN})
	require.Equal(t, codes.FailedPrecondition, code(err), "a key rotated from one the demoted owner minted is hers too: %v", err)

	rec, err := authv1.NewAuthServiceClient(e.cli).RecoverOwner(t.Context(), &authv1.RecoverOwnerRequest{TenantId: a.id, Subject: "second@acme"})
	require.NoError(t, err)
	e.plaintexts = append(e.plaintexts, rec.GetApiKey())
	_, err = mc.UpdateMember(e.as(t, rec.GetApiKey()), &authv1.UpdateMemberRequest{MemberId: firstID, Role: authv1.Role_ROLE_ADMIN})
	require.NoError(t, err, "a key no member minted is its holder's own")
	_, err = e.verify(t.Context(), rec.GetApiKey())
	require.NoError(t, err)
	_, err = e.verify(t.Context(), mine)
	require.Equal(t, codes.Unauthenticated, code(err), "the demoted owner could have made it: %v", err)
}

// TestPromotionRevokesKeysAWeakerMinterHolds: the other side of the same
// rule. An admin who minted a key with scope admin for another admin kept
// its plaintext; when an owner promoted that member to owner, the key
// became an owner key — and the admin held one (an admin could never make
// one herself). A promotion now revokes the member's keys whose minter's
// current role does not cover the new role; keys the member made herself,
// or that a minter as strong minted, stay.
func TestPromotionRevokesKeysAWeakerMinterHolds(t *testing.T) { forEachStore(t, promotionRevokes) }

func promotionRevokes(t *testing.T, e *env) {
	a := e.acme(t)
	owner, mc := a.owner, a.mc
	alice := e.member(t, owner, "alice@acme", authv1.Role_ROLE_ADMIN, "admin")
	_, err := mc.CreateMember(e.as(t, alice), &authv1.CreateMemberRequest{Subject: "bob@acme", Role: authv1.Role_ROLE_ADMIN})
	require.NoError(t, err)
	_, err = mc.CreateMember(e.as(t, alice), &authv1.CreateMemberRequest{Subject: "carol@acme", Role: authv1.Role_ROLE_MEMBER})
	require.NoError(t, err)
	bobByAlice := e.ownKey(t, alice, &authv1.CreateKeyRequest{Name: "bob", Subject: "bob@acme", Scopes: []string{"admin"}})
	bobByOwner := e.ownKey(t, owner, &authv1.CreateKeyRequest{Name: "bob too", Subject: "bob@acme", Scopes: []string{"admin"}})
	bobOwn := e.ownKey(t, bobByOwner, &authv1.CreateKeyRequest{Name: "mine", Scopes: []string{"chat:write"}})
	carolByAlice := e.ownKey(t, alice, &authv1.CreateKeyRequest{Name: "carol", Subject: "carol@acme", Scopes: []string{"usage:read"}})

	e.setRole(t, a, "bob@acme", authv1.Role_ROLE_OWNER)
	e.setRole(t, a, "carol@acme", authv1.Role_ROLE_ADMIN)
	for _, tt := range []struct {
		name string
		key  string
		live bool
	}{
		{"an admin's copy of a now-owner key", bobByAlice, false},
		{"an owner minted it", bobByOwner, true},
		{"bob made it himself", bobOwn, true},
		{"promoted to the minter's own role", carolByAlice, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.verify(t.Context(), tt.key)
			if tt.live {
				require.NoError(t, err)
				return
			}
			require.Equal(t, codes.Unauthenticated, code(err), "an admin must not end up holding an owner key: %v", err)
		})
	}
}
