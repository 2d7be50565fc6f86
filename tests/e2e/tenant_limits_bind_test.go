package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestTenantLimitsBindAtOnce: the platform narrows a tenant's models while
// the edge holds a verified key of the tenant in its cache. Auth announces
// the change (TENANT_CHANGED, ADR 0072) and the key's next requests carry
// the new limits within a second, not after the edge's 30 s cache TTL.
func TestTenantLimitsBindAtOnce(t *testing.T) {
	s := startStack(t)
	tn := newEscalationTenant(t, s, "limits-bind")
	key := mustKey(t, s, tn.owner, map[string]any{"name": "chat", "scopes": []string{"chat:write"}})
	chat := func() int {
		return do(t, http.MethodPost, s.baseURL+"/v1/chat/completions", key.APIKey, map[string]any{
			"model": "echo", "messages": []map[string]any{{"role": "user", "content": "hello"}},
		}, nil)
	}
	require.Equal(t, http.StatusOK, chat(), "the edge caches the key's principal")

	require.Equal(t, http.StatusOK, do(t, http.MethodPut, s.baseURL+"/v1/tenants/"+tn.id+"/limits", s.env["RAMPART_ADMIN_KEY"],
		map[string]any{"allowed_models": []string{"rampart-extractive"}}, nil))
	changed := time.Now()
	require.Eventually(t, func() bool { return chat() == http.StatusForbidden }, 2*time.Second, 20*time.Millisecond,
		"a model the platform took away must be refused within the revocation latency")
	t.Logf("narrowed models bind at the edge after %s", time.Since(changed))
}
