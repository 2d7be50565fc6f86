package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestReview8RevokeCascade (authorization review 8, ADR 0110 §1): a
// leaked member key with keys:write mints a key with its grant. Revoking
// the leaked key alone leaves the minted key working through the edge;
// revoking it again with "cascade": true answers the minted key's id in
// also_revoked and the edge refuses it within the revocation latency,
// while a key the owner made for the same account goes on.
func TestReview8RevokeCascade(t *testing.T) {
	s := startStack(t)
	tn := newEscalationTenant(t, s, "rev8-cascade")
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/members", tn.owner,
		map[string]any{"subject": "ci@rev8-cascade", "role": "ROLE_MEMBER", "kind": "MEMBER_KIND_SERVICE_ACCOUNT"}, nil))
	leaked := mustKey(t, s, tn.owner, map[string]any{"name": "ci", "subject": "ci@rev8-cascade", "scopes": []string{"chat:write", "keys:write"}})
	minted := mustKey(t, s, leaked.APIKey, map[string]any{"name": "stash", "scopes": []string{"chat:write", "keys:write"}})
	byOwner := mustKey(t, s, tn.owner, map[string]any{"name": "ci by owner", "subject": "ci@rev8-cascade", "scopes": []string{"chat:write"}})
	revoke := s.baseURL + "/v1/keys/" + leaked.Key.KeyID + ":revoke"

	var plain struct {
		AlsoRevoked []string `json:"also_revoked"`
	}
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, revoke, tn.owner, map[string]any{}, &plain))
	require.Empty(t, plain.AlsoRevoked)
	require.Eventually(t, func() bool {
		return do(t, http.MethodGet, s.baseURL+"/v1/whoami", leaked.APIKey, nil, nil) == http.StatusUnauthorized
	}, 2*time.Second, 20*time.Millisecond, "the revoked key")
	require.Equal(t, http.StatusOK, do(t, http.MethodGet, s.baseURL+"/v1/whoami", minted.APIKey, nil, nil),
		"a plain revocation leaves the key minted with it")

	var cascade struct {
		AlsoRevoked []string `json:"also_revoked"`
	}
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, revoke, tn.owner, map[string]any{"cascade": true}, &cascade))
	require.Equal(t, []string{minted.Key.KeyID}, cascade.AlsoRevoked)
	require.Eventually(t, func() bool {
		return do(t, http.MethodGet, s.baseURL+"/v1/whoami", minted.APIKey, nil, nil) == http.StatusUnauthorized
	}, 2*time.Second, 20*time.Millisecond, "the key minted with the leaked key goes with the cascade")
	require.Equal(t, http.StatusOK, do(t, http.MethodGet, s.baseURL+"/v1/whoami", byOwner.APIKey, nil, nil),
		"the owner's key for the same account is not the leaked key's")
}
