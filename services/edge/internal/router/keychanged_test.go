package router_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/authtest"
)

// TestKeyChangedEvictsWithinOneSecond: auth announces a role change of a
// key's subject as KEY_CHANGED (escalation review 2026-12-06); the edge
// drops that key's cached verification, so the next request is verified
// again (with the new role) instead of being served the old principal for
// up to the cache TTL. Other keys stay cached.
func TestKeyChangedEvictsWithinOneSecond(t *testing.T) {
	e := newEdge(t, edgeOpts{})
	key := e.auth.AddKey(t, tenantA())
	other := e.auth.AddKey(t, &authv1.Principal{TenantId: "t_alpha", Subject: "bob@example.com", Roles: []string{"member"}, Scopes: []string{"chat:write"}})
	readJSON(t, e.do(t, http.MethodGet, "/v1/whoami", key, nil), 200)
	readJSON(t, e.do(t, http.MethodGet, "/v1/whoami", other, nil), 200)
	require.Equal(t, 2, e.authn.CacheLen())

	calls := e.auth.VerifyCalls.Load()
	e.auth.PublishRevocation(&authv1.WatchRevocationsResponse{Kind: authv1.RevocationKind_REVOCATION_KIND_KEY_CHANGED,
		KeyId: authtest.KeyID(t, key), TenantId: "t_alpha"})
	require.Eventually(t, func() bool { return e.authn.CacheLen() == 1 }, time.Second, 5*time.Millisecond,
		"a changed key must leave the cache within 1 s")
	readJSON(t, e.do(t, http.MethodGet, "/v1/whoami", other, nil), 200)
	require.Equal(t, calls, e.auth.VerifyCalls.Load(), "the other key is still served from the cache")
	readJSON(t, e.do(t, http.MethodGet, "/v1/whoami", key, nil), 200)
	require.Equal(t, calls+1, e.auth.VerifyCalls.Load(), "the changed key is verified again")
}

// TestTenantChangedEvictsTheTenant: auth announces a change of a tenant's
// limits (rates, budget, allowed models) as TENANT_CHANGED (ADR 0072); the
// edge drops every cached key of that tenant, so narrowed limits bind at
// the next request rather than after the cache TTL. Other tenants' keys
// stay cached.
func TestTenantChangedEvictsTheTenant(t *testing.T) {
	e := newEdge(t, edgeOpts{})
	key := e.auth.AddKey(t, tenantA())
	other := e.auth.AddKey(t, &authv1.Principal{TenantId: "t_beta", Subject: "bob@example.com", Roles: []string{"member"}, Scopes: []string{"chat:write"}})
	readJSON(t, e.do(t, http.MethodGet, "/v1/whoami", key, nil), 200)
	readJSON(t, e.do(t, http.MethodGet, "/v1/whoami", other, nil), 200)
	require.Equal(t, 2, e.authn.CacheLen())

	calls := e.auth.VerifyCalls.Load()
	e.auth.PublishRevocation(&authv1.WatchRevocationsResponse{Kind: authv1.RevocationKind_REVOCATION_KIND_TENANT_CHANGED, TenantId: "t_alpha"})
	require.Eventually(t, func() bool { return e.authn.CacheLen() == 1 }, time.Second, 5*time.Millisecond,
		"a changed tenant's keys must leave the cache within 1 s")
	readJSON(t, e.do(t, http.MethodGet, "/v1/whoami", other, nil), 200)
	require.Equal(t, calls, e.auth.VerifyCalls.Load(), "the other tenant's key is still served from the cache")
	readJSON(t, e.do(t, http.MethodGet, "/v1/whoami", key, nil), 200)
	require.Equal(t, calls+1, e.auth.VerifyCalls.Load(), "the changed tenant's key is verified again")
}
