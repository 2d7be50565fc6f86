package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/tests/e2e/internal/devenv"
)

// Issue 10, reproductions 1-3, through the real stack over REST: each was an
// escalation an ordinary account could perform on main before the key
// covering rule and tenant limits.

type escalationTenant struct {
	id, owner string
}

// newEscalationTenant creates a tenant with an owner, as the platform admin.
func newEscalationTenant(t *testing.T, s *stack, name string) escalationTenant {
	t.Helper()
	var tc struct {
		Tenant struct {
			TenantID string `json:"tenant_id"`
		} `json:"tenant"`
		OwnerAPIKey string `json:"owner_api_key"`
	}
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/tenants", s.env["RAMPART_ADMIN_KEY"],
		map[string]any{"name": name, "owner_subject": "owner@" + name}, &tc))
	return escalationTenant{id: tc.Tenant.TenantID, owner: tc.OwnerAPIKey}
}

func mustKey(t *testing.T, s *stack, by string, body map[string]any) createdKey {
	t.Helper()
	var k createdKey
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/keys", by, body, &k))
	return k
}

func whoamiScopes(t *testing.T, s *stack, key string) []string {
	t.Helper()
	var w struct {
		Scopes []string `json:"scopes"`
	}
	require.Equal(t, http.StatusOK, do(t, http.MethodGet, s.baseURL+"/v1/whoami", key, nil, &w))
	return w.Scopes
}

// Reproduction 1: a chat:write key lists its subject's keys, then tries to
// rotate (and so read) or revoke the subject's admin key.
func TestEscalationNarrowKeyCannotRotateAdminKey(t *testing.T) {
	s := startStack(t)
	tn := newEscalationTenant(t, s, "esc-rotate")
	ownerKeyID := tn.owner[3:15]
	chat := mustKey(t, s, tn.owner, map[string]any{"name": "chat", "scopes": []string{"chat:write"}})

	var list struct {
		Keys []struct {
			KeyID  string   `json:"key_id"`
			Scopes []string `json:"scopes"`
		} `json:"keys"`
	}
	require.Equal(t, http.StatusOK, do(t, http.MethodGet, s.baseURL+"/v1/keys", chat.APIKey, nil, &list))
	found := false
	for _, k := range list.Keys {
		found = found || k.KeyID == ownerKeyID
	}
	require.True(t, found, "a key sees its own subject's keys' metadata")

	var rotated createdKey
	require.Equal(t, http.StatusForbidden, do(t, http.MethodPost, s.baseURL+"/v1/keys/"+ownerKeyID+":rotate", chat.APIKey, map[string]any{}, &rotated))
	require.Empty(t, rotated.APIKey, "no plaintext admin key")
	require.Equal(t, http.StatusForbidden, do(t, http.MethodPost, s.baseURL+"/v1/keys/"+ownerKeyID+":revoke", chat.APIKey, map[string]any{}, nil))
	require.Equal(t, []string{"admin"}, whoamiScopes(t, s, tn.owner), "the admin key is untouched")

	// The tenant's only owner key cannot be revoked, not even by itself.
	require.Equal(t, http.StatusBadRequest, do(t, http.MethodPost, s.baseURL+"/v1/keys/"+ownerKeyID+":revoke", tn.owner, map[string]any{}, nil))
	require.Equal(t, []string{"admin"}, whoamiScopes(t, s, tn.owner))
}

// Reproduction 1, platform variant: the bootstrap subject's narrow key does
// not reach the platform admin key (nor the cross-tenant audit).
func TestEscalationBootstrapSubjectStaysNarrow(t *testing.T) {
	s := startStack(t)
	admin := s.env["RAMPART_ADMIN_KEY"]
	for _, scopes := range [][]string{{"chat:write"}, {"chat:write", "keys:write"}} {
		chat := mustKey(t, s, admin, map[string]any{"name": "platform-chat", "scopes": scopes})
		require.Equal(t, http.StatusForbidden, do(t, http.MethodPost, s.baseURL+"/v1/keys/"+admin[3:15]+":rotate", chat.APIKey, map[string]any{}, nil), "%v", scopes)
		require.Equal(t, http.StatusForbidden, do(t, http.MethodGet, s.baseURL+"/v1/audit?platform=true", chat.APIKey, nil, nil), "%v", scopes)
	}
	// keys:write manages what it covers, itself included.
	kw := mustKey(t, s, admin, map[string]any{"name": "platform-keys", "scopes": []string{"chat:write", "keys:write"}})
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/keys/"+kw.Key.KeyID+":revoke", kw.APIKey, map[string]any{}, nil))
}

// Reproduction 2: an admin mints a key for an owner subject.
func TestEscalationAdminCannotMintOwnerKey(t *testing.T) {
	s := startStack(t)
	tn := newEscalationTenant(t, s, "esc-owner")
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/members", tn.owner,
		map[string]any{"subject": "admin@esc-owner", "role": "ROLE_ADMIN"}, nil))
	admin := mustKey(t, s, tn.owner, map[string]any{"name": "admin", "subject": "admin@esc-owner", "scopes": []string{"admin"}})

	require.Equal(t, http.StatusForbidden, do(t, http.MethodPost, s.baseURL+"/v1/keys", admin.APIKey,
		map[string]any{"name": "mine", "subject": "owner@esc-owner", "scopes": []string{"admin"}}, nil))
	require.Equal(t, http.StatusNotFound, do(t, http.MethodPost, s.baseURL+"/v1/keys/"+tn.owner[3:15]+":rotate", admin.APIKey, map[string]any{}, nil),
		"an owner's key is out of an admin's sight")
	require.Equal(t, http.StatusForbidden, do(t, http.MethodPost, s.baseURL+"/v1/members", admin.APIKey,
		map[string]any{"subject": "owner2@esc-owner", "role": "ROLE_OWNER"}, nil))
}

// Reproduction 3: a member whose key is limited mints an unlimited key; and
// a tenant budget, once spent, binds every key of the tenant — also one
// minted afterwards.
func TestEscalationLimitsCannotBeEscaped(t *testing.T) {
	s := startStack(t)
	tn := newEscalationTenant(t, s, "esc-limits")
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/members", tn.owner,
		map[string]any{"subject": "dev@esc-limits", "role": "ROLE_MEMBER"}, nil))
	dev := mustKey(t, s, tn.owner, map[string]any{"name": "dev", "subject": "dev@esc-limits", "scopes": []string{"chat:write", "keys:write"},
		"allowed_models": []string{"echo"}, "limits": map[string]any{"monthly_token_budget": 50}})
	require.Equal(t, http.StatusForbidden, do(t, http.MethodPost, s.baseURL+"/v1/keys", dev.APIKey,
		map[string]any{"name": "free", "scopes": []string{"chat:write"}}, nil))
	require.Equal(t, http.StatusForbidden, do(t, http.MethodPost, s.baseURL+"/v1/keys", dev.APIKey,
		map[string]any{"name": "free", "scopes": []string{"chat:write"}, "allowed_models": []string{"echo"}}, nil), "no budget is a wider budget")

	// The owner sets a tenant budget and model list; keys made afterwards
	// carry them (the edge caches older principals for a few seconds).
	require.Equal(t, http.StatusOK, do(t, http.MethodPut, s.baseURL+"/v1/tenants/"+tn.id+"/limits", tn.owner,
		map[string]any{"monthly_token_budget": 40, "allowed_models": []string{"echo"}}, nil))
	require.Equal(t, http.StatusBadRequest, do(t, http.MethodPost, s.baseURL+"/v1/keys", tn.owner,
		map[string]any{"name": "big", "scopes": []string{"chat:write"}, "limits": map[string]any{"monthly_token_budget": 41}}, nil))
	first := mustKey(t, s, tn.owner, map[string]any{"name": "first", "scopes": []string{"chat:write"}})

	chat := func(key, model string) int {
		return do(t, http.MethodPost, s.baseURL+"/v1/chat/completions", key, map[string]any{
			"model": model, "messages": []map[string]any{{"role": "user", "content": "spend some tokens of the tenant budget please"}},
		}, nil)
	}
	require.NotEqual(t, http.StatusOK, chat(first.APIKey, "rampart-extractive"), "a model outside the tenant's list")
	spent := false
	for i := 0; i < 20 && !spent; i++ {
		code := chat(first.APIKey, "echo")
		require.Contains(t, []int{http.StatusOK, http.StatusTooManyRequests}, code)
		spent = code == http.StatusTooManyRequests
	}
	require.True(t, spent, "the tenant budget of 40 tokens runs out")
	fresh := mustKey(t, s, tn.owner, map[string]any{"name": "fresh", "scopes": []string{"chat:write"}})
	require.Equal(t, http.StatusTooManyRequests, chat(fresh.APIKey, "echo"), "a fresh key does not escape the tenant budget")
}

// The owner-recovery path: a tenant whose owner keys are gone gets a new
// owner key from the operator CLI over mTLS.
func TestEscalationRecoverOwnerThroughCLI(t *testing.T) {
	s := startStack(t)
	tn := newEscalationTenant(t, s, "esc-recover")
	cli := exec.Command(filepath.Join(binDir, "rampart"), "tenant", "recover-owner", "--tenant", tn.id,
		"--cert-dir", s.env["RAMPART_CA_DIR"], "--auth-addr", s.env["RAMPART_AUTH_ADDR"])
	cli.Env = devenv.Clean()
	out, err := cli.Output()
	require.NoError(t, err, string(out))
	var rec struct {
		TenantID string `json:"tenant_id"`
		Subject  string `json:"subject"`
		APIKey   string `json:"api_key"`
	}
	require.NoError(t, json.Unmarshal(out, &rec), string(out))
	require.Equal(t, tn.id, rec.TenantID)
	require.Equal(t, "owner@esc-recover", rec.Subject)
	require.Equal(t, []string{"admin"}, whoamiScopes(t, s, rec.APIKey))
	// Now the original owner key may go: another owner key exists.
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/keys/"+tn.owner[3:15]+":revoke", rec.APIKey, map[string]any{}, nil))

	var audit struct {
		Events []struct {
			Action string `json:"action"`
			Actor  string `json:"actor"`
		} `json:"events"`
	}
	require.Eventually(t, func() bool {
		return do(t, http.MethodGet, s.baseURL+"/v1/audit", rec.APIKey, nil, &audit) == http.StatusOK
	}, 5*time.Second, 50*time.Millisecond)
	actions := map[string]string{}
	for _, e := range audit.Events {
		actions[e.Action] = e.Actor
	}
	require.Equal(t, "svc:spiffe://rampart.local/svc/rampart-cli", actions["tenant.recover_owner"], fmt.Sprint(actions))
}

// Reproduction 3, rotation variant: a key whose own budget is spent does
// not get a fresh budget by rotating itself.
func TestEscalationRotationKeepsTheBudget(t *testing.T) {
	s := startStack(t)
	tn := newEscalationTenant(t, s, "esc-rotate-budget")
	// keys:write: over REST the edge's permission table asks it for every
	// rotation (auth alone would let a key rotate itself without it).
	k := mustKey(t, s, tn.owner, map[string]any{"name": "budgeted", "scopes": []string{"chat:write", "keys:write"}, "limits": map[string]any{"monthly_token_budget": 30}})
	chat := func(key string) int {
		return do(t, http.MethodPost, s.baseURL+"/v1/chat/completions", key, map[string]any{
			"model": "echo", "messages": []map[string]any{{"role": "user", "content": "spend some tokens of the key budget please"}},
		}, nil)
	}
	spent := false
	for i := 0; i < 20 && !spent; i++ {
		code := chat(k.APIKey)
		require.Contains(t, []int{http.StatusOK, http.StatusTooManyRequests}, code)
		spent = code == http.StatusTooManyRequests
	}
	require.True(t, spent, "the key budget of 30 tokens runs out")
	var rotated createdKey
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/keys/"+k.Key.KeyID+":rotate", k.APIKey, map[string]any{}, &rotated))
	require.Equal(t, http.StatusTooManyRequests, chat(rotated.APIKey), "the replacement draws from the same budget")
}
