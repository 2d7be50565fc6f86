package e2e

import (
	"encoding/base64"
	"net/http"
	"strings"
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

// TestReview4RotationAndKeyEdits: rotation never revives a key and no key
// edits itself. A revoked key, an expired key and an already rotated key
// cannot be rotated (not even by the owner); there is no route that
// changes a key's limits or scopes (PATCH is refused before any backend);
// and another tenant's key id — in a path or as a page token — answers
// exactly like an id that does not exist.
func TestReview4RotationAndKeyEdits(t *testing.T) {
	s := startStack(t)
	a := newEscalationTenant(t, s, "rev4-rot-a")
	b := newEscalationTenant(t, s, "rev4-rot-b")
	keysURL := s.baseURL + "/v1/keys/"

	limited := mustKey(t, s, a.owner, map[string]any{"name": "limited", "scopes": []string{"chat:write", "keys:write"},
		"limits": map[string]any{"requests_per_minute": 5}})
	for _, method := range []string{http.MethodPatch, http.MethodPut} {
		code, body := rawDo(t, method, keysURL+limited.Key.KeyID, limited.APIKey,
			map[string]any{"limits": map[string]any{}, "scopes": []string{"admin"}})
		require.Contains(t, []int{http.StatusNotFound, http.StatusMethodNotAllowed}, code, "%s %s", method, body)
	}
	var got struct {
		Key struct {
			Scopes []string `json:"scopes"`
			Limits struct {
				RequestsPerMinute string `json:"requests_per_minute"`
			} `json:"limits"`
		} `json:"key"`
	}
	require.Equal(t, http.StatusOK, do(t, http.MethodGet, keysURL+limited.Key.KeyID, a.owner, nil, &got))
	require.Equal(t, "5", got.Key.Limits.RequestsPerMinute)
	require.Equal(t, []string{"chat:write", "keys:write"}, got.Key.Scopes)

	revoked := mustKey(t, s, a.owner, map[string]any{"name": "revoked", "scopes": []string{"chat:write"}})
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, keysURL+revoked.Key.KeyID+":revoke", a.owner, map[string]any{}, nil))
	expiring := mustKey(t, s, a.owner, map[string]any{"name": "expiring", "scopes": []string{"chat:write"}, "ttl_seconds": 1})
	var rotated createdKey
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, keysURL+limited.Key.KeyID+":rotate", limited.APIKey, map[string]any{}, &rotated))
	time.Sleep(1500 * time.Millisecond)
	for name, id := range map[string]string{"revoked": revoked.Key.KeyID, "expired": expiring.Key.KeyID, "rotated already": limited.Key.KeyID} {
		code, body := rawDo(t, http.MethodPost, keysURL+id+":rotate", a.owner, map[string]any{})
		require.Equal(t, http.StatusBadRequest, code, "%s: %s", name, body)
		require.Contains(t, string(body), "only an active key can be rotated", name)
		require.NotContains(t, string(body), "api_key", name)
	}
	require.Equal(t, http.StatusUnauthorized, do(t, http.MethodGet, s.baseURL+"/v1/whoami", expiring.APIKey, nil, nil))

	// Tenant B probes A's key ids.
	unknown := "AAAAAAAAAAAA"
	for _, suffix := range []string{"", ":rotate", ":revoke"} {
		method := http.MethodPost
		if suffix == "" {
			method = http.MethodGet
		}
		codeA, bodyA := rawDo(t, method, keysURL+rotated.Key.KeyID+suffix, b.owner, map[string]any{})
		codeU, bodyU := rawDo(t, method, keysURL+unknown+suffix, b.owner, map[string]any{})
		require.Equal(t, http.StatusNotFound, codeA, "%s %s", suffix, bodyA)
		require.Equal(t, codeU, codeA, suffix)
		require.Equal(t, strings.ReplaceAll(string(bodyU), unknown, "ID"), strings.ReplaceAll(string(bodyA), rotated.Key.KeyID, "ID"),
			"%s: another tenant's key must answer like an unknown one", suffix)
	}
	code, body := rawDo(t, http.MethodGet, s.baseURL+"/v1/keys?page_token="+base64.RawURLEncoding.EncodeToString([]byte(limited.Key.KeyID)), b.owner, nil)
	require.Equal(t, http.StatusOK, code, string(body))
	for _, id := range []string{limited.Key.KeyID, rotated.Key.KeyID, revoked.Key.KeyID, a.owner[3:15]} {
		require.NotContains(t, string(body), id, "a page token naming A's key lists B's keys only")
	}
}
