package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The authorization review of 2026-12-07 (docs/security.md, ADR 0078),
// through the real stack over REST.

// TestReview4MintedKeysCannotBeLaundered: an admin mints an admin key for a
// service account, keeps its plaintext, and with it rotates the key and
// mints another key of the account. When an owner removes her, the keys
// she minted go (ADR 0069 §1) — and now the keys made with them too: she
// could have made each. A key the owner minted for the account stays.
func TestReview4MintedKeysCannotBeLaundered(t *testing.T) {
	s := startStack(t)
	tn := newEscalationTenant(t, s, "rev4-launder")
	var alice reviewMember
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/members", tn.owner,
		map[string]any{"subject": "alice@rev4-launder", "role": "ROLE_ADMIN"}, &alice))
	admin := mustKey(t, s, tn.owner, map[string]any{"name": "alice", "subject": "alice@rev4-launder", "scopes": []string{"admin"}})
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/members", admin.APIKey,
		map[string]any{"subject": "ci@rev4-launder", "role": "ROLE_ADMIN", "kind": "MEMBER_KIND_SERVICE_ACCOUNT"}, nil))
	ci := mustKey(t, s, admin.APIKey, map[string]any{"name": "ci", "subject": "ci@rev4-launder", "scopes": []string{"admin"}})

	// Alice, holding ci's key, launders it: a rotation by the key itself and
	// a key minted with it.
	var rotated createdKey
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/keys/"+ci.Key.KeyID+":rotate", ci.APIKey, map[string]any{}, &rotated))
	minted := mustKey(t, s, ci.APIKey, map[string]any{"name": "ci 2", "subject": "ci@rev4-launder", "scopes": []string{"admin"}})
	byOwner := mustKey(t, s, tn.owner, map[string]any{"name": "ci by owner", "subject": "ci@rev4-launder", "scopes": []string{"admin"}})
	for _, k := range []string{rotated.APIKey, minted.APIKey, byOwner.APIKey} {
		require.Equal(t, []string{"admin"}, whoamiScopes(t, s, k), "the edge caches each key's principal")
	}

	require.Equal(t, http.StatusOK, do(t, http.MethodDelete, s.baseURL+"/v1/members/"+alice.Member.MemberID, tn.owner, nil, nil))
	for name, k := range map[string]string{"rotated by itself": rotated.APIKey, "minted with it": minted.APIKey} {
		require.Eventually(t, func() bool {
			return do(t, http.MethodGet, s.baseURL+"/v1/audit", k, nil, nil) == http.StatusUnauthorized
		}, 2*time.Second, 20*time.Millisecond, "%s: the removed admin could have made this key; it must stop at once", name)
	}
	require.Equal(t, http.StatusOK, do(t, http.MethodGet, s.baseURL+"/v1/audit", byOwner.APIKey, nil, nil), "the owner's key for ci is not alice's")
}
