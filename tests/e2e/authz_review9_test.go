package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestReview9ConnectionIsItsAuthorizers (ADR 0118 §1): a data-source
// connection records who authorized it, and only that member's keys
// complete it or ingest through it. Before, any member with ingest:write
// named a colleague's connection in an IngestDocument and read, through
// Rampart, whatever the colleague's grant reaches on its resource hosts.
// The connection is the member's, not the key's: her other key still uses
// it after the first is revoked with --cascade; demoted to viewer she
// cannot, nobody else can in her place, and the connection is dropped with
// its tokens (ADR 0132 §1), as a removed member's is; removed and added
// again she is another member who does not inherit anything.
func TestReview9ConnectionIsItsAuthorizers(t *testing.T) {
	s := startStack(t)
	tn := newEscalationTenant(t, s, "rev9-conn")
	members := map[string]reviewMember{}
	for _, sub := range []string{"alice@rev9-conn", "bob@rev9-conn"} {
		var m reviewMember
		require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/members", tn.owner,
			map[string]any{"subject": sub, "role": "ROLE_MEMBER"}, &m))
		members[sub] = m
	}
	scopes := []string{"ingest:read", "ingest:write", "keys:write"}
	alice := mustKey(t, s, tn.owner, map[string]any{"name": "alice", "subject": "alice@rev9-conn", "scopes": scopes})
	aliceToo := mustKey(t, s, tn.owner, map[string]any{"name": "alice 2", "subject": "alice@rev9-conn", "scopes": scopes})
	bob := mustKey(t, s, tn.owner, map[string]any{"name": "bob", "subject": "bob@rev9-conn", "scopes": scopes})
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/collections", alice.APIKey, map[string]any{"name": "r9"}, nil))

	var conn struct {
		Connection struct {
			ID        string `json:"id"`
			CreatedBy string `json:"created_by"`
		} `json:"connection"`
	}
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/ingest/connections", alice.APIKey, map[string]any{
		"name": "alice's drive", "authorization_endpoint": "https://idp.example/authorize", "token_endpoint": "https://idp.example/token",
		"client_id": "rampart", "redirect_uri": "https://rampart.example/cb",
	}, &conn))
	want := "key:" + alice.Key.KeyID + "/alice@rev9-conn"
	require.Equal(t, want, conn.Connection.CreatedBy, "the authorizer is the verified principal")
	var list struct {
		Connections []struct {
			CreatedBy string `json:"created_by"`
		} `json:"connections"`
	}
	require.Equal(t, http.StatusOK, do(t, http.MethodGet, s.baseURL+"/v1/ingest/connections", bob.APIKey, nil, &list))
	require.Len(t, list.Connections, 1)
	require.Equal(t, want, list.Connections[0].CreatedBy)

	ingest := func(key string) (int, string) {
		code, body := rawDo(t, http.MethodPost, s.baseURL+"/v1/collections/r9/documents", key,
			map[string]any{"url": "https://idp.example/files/salaries.pdf", "connection_id": conn.Connection.ID})
		return code, string(body)
	}
	code, body := ingest(bob.APIKey)
	require.Equal(t, http.StatusForbidden, code, body)
	require.Contains(t, body, "only that member's keys")
	code, raw := rawDo(t, http.MethodPost, s.baseURL+"/v1/ingest/connections/"+conn.Connection.ID+":complete", bob.APIKey,
		map[string]any{"state": "s", "code": "c"})
	require.Equal(t, http.StatusForbidden, code, string(raw))
	// Alice's keys pass the authorizer check and reach the next one (the
	// connection is still pending: nobody signed in at the provider).
	for _, k := range []createdKey{alice, aliceToo} {
		code, body = ingest(k.APIKey)
		require.Equal(t, http.StatusBadRequest, code, body)
		require.Contains(t, body, "not connected yet")
	}

	// The connection is the member's: revoking the key that made it, with
	// what it made, leaves her other key using it.
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/keys/"+alice.Key.KeyID+":revoke", tn.owner,
		map[string]any{"cascade": true}, nil))
	code, body = ingest(aliceToo.APIKey)
	require.Equal(t, http.StatusBadRequest, code, body)
	require.Contains(t, body, "not connected yet")

	// Demoted to viewer, she no longer ingests — through her connection
	// either — and a colleague still cannot in her place. Her connection
	// goes with its tokens (ADR 0132 §1): a viewer writes nothing.
	secrets := func() string {
		_, body := rawDo(t, http.MethodGet, s.baseURL+"/v1/secrets", tn.owner, nil)
		return string(body)
	}
	require.Contains(t, secrets(), conn.Connection.ID, "the connection's secret is in keyvault")
	require.Equal(t, http.StatusOK, do(t, http.MethodPatch, s.baseURL+"/v1/members/"+members["alice@rev9-conn"].Member.MemberID,
		tn.owner, map[string]any{"role": "ROLE_VIEWER"}, nil))
	require.Eventually(t, func() bool {
		code, _ := ingest(aliceToo.APIKey)
		return code == http.StatusForbidden || code == http.StatusUnauthorized
	}, 2*time.Second, 20*time.Millisecond, "the demotion binds the connection within the revocation latency")
	code, body = ingest(bob.APIKey)
	require.Contains(t, []int{http.StatusForbidden, http.StatusNotFound}, code, body)
	connections := func(key string) int {
		var l struct {
			Connections []struct{} `json:"connections"`
		}
		require.Equal(t, http.StatusOK, do(t, http.MethodGet, s.baseURL+"/v1/ingest/connections", key, nil, &l))
		return len(l.Connections)
	}
	require.Eventually(t, func() bool { return connections(bob.APIKey) == 0 }, 30*time.Second, 50*time.Millisecond,
		"the viewer's connection is dropped")
	require.NotContains(t, secrets(), conn.Connection.ID, "and its tokens with it")

	// Removed, a member's connection goes with its tokens too.
	var bobs struct {
		Connection struct {
			ID string `json:"id"`
		} `json:"connection"`
	}
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/ingest/connections", bob.APIKey, map[string]any{
		"name": "bob's drive", "authorization_endpoint": "https://idp.example/authorize", "token_endpoint": "https://idp.example/token",
		"client_id": "rampart", "client_secret": "bob-client-secret", "redirect_uri": "https://rampart.example/cb",
	}, &bobs))
	require.Contains(t, secrets(), bobs.Connection.ID)
	require.Equal(t, http.StatusOK, do(t, http.MethodDelete, s.baseURL+"/v1/members/"+members["bob@rev9-conn"].Member.MemberID, tn.owner, nil, nil))
	require.Eventually(t, func() bool { return connections(tn.owner) == 0 }, 30*time.Second, 50*time.Millisecond,
		"the removed member's connection is dropped")
	require.NotContains(t, secrets(), bobs.Connection.ID)

	// Removed and added again, the subject is another member: the new
	// member does not inherit the grant the first one gave (it is gone).
	require.Equal(t, http.StatusOK, do(t, http.MethodDelete, s.baseURL+"/v1/members/"+members["alice@rev9-conn"].Member.MemberID, tn.owner, nil, nil))
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/members", tn.owner,
		map[string]any{"subject": "alice@rev9-conn", "role": "ROLE_MEMBER"}, nil))
	newAlice := mustKey(t, s, tn.owner, map[string]any{"name": "alice again", "subject": "alice@rev9-conn", "scopes": scopes})
	code, body = ingest(newAlice.APIKey)
	require.Equal(t, http.StatusNotFound, code, body)
}
