package keys

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/auth/internal/store"
)

func TestCovers(t *testing.T) {
	t0 := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	admin := Grant{Role: store.RoleAdmin, Scopes: []string{ScopeAdmin}, Expires: t0.Add(48 * time.Hour)}
	narrow := Grant{Role: store.RoleMember, Scopes: []string{ScopeChatWrite, ScopeKeysWrite}, Models: []string{"echo", "small"},
		Endpoints: []string{"/v1/chat"}, Limits: store.Limits{RPM: 10, TPM: 1000, MonthlyTokens: 5000}, Expires: t0.Add(24 * time.Hour)}
	with := func(g Grant, f func(*Grant)) Grant { f(&g); return g }
	tests := []struct {
		name   string
		caller Grant
		target Grant
		field  string // "" = covered
	}{
		{"a grant covers itself", narrow, narrow, ""},
		{"admin covers a narrower grant", admin, narrow, ""},
		{"admin scope covers every scope", admin, with(admin, func(g *Grant) { g.Scopes = KnownScopes }), ""},
		{"stronger subject role", admin, with(admin, func(g *Grant) { g.Role = store.RoleOwner }), "role"},
		{"gone subject has no role to compare", narrow, with(narrow, func(g *Grant) { g.Role = 0 }), ""},
		{"caller without a role covers nothing with a role", with(narrow, func(g *Grant) { g.Role = 0 }), narrow, "role"},
		{"weaker subject role", narrow, with(narrow, func(g *Grant) { g.Role = store.RoleViewer }), ""},
		{"scope not held", narrow, with(narrow, func(g *Grant) { g.Scopes = []string{ScopeChatWrite, ScopeUsageRead} }), "scopes[1]"},
		{"admin scope not held", narrow, with(narrow, func(g *Grant) { g.Scopes = []string{ScopeAdmin} }), "scopes[0]"},
		{"all models from a model list", narrow, with(narrow, func(g *Grant) { g.Models = nil }), "allowed_models"},
		{"a model outside the list", narrow, with(narrow, func(g *Grant) { g.Models = []string{"echo", "big"} }), "allowed_models[1]"},
		{"a sub-list of models", narrow, with(narrow, func(g *Grant) { g.Models = []string{"small"} }), ""},
		{"no model at all", narrow, with(narrow, func(g *Grant) { g.Models = []string{} }), ""},
		{"all endpoints from a prefix list", narrow, with(narrow, func(g *Grant) { g.Endpoints = nil }), "allowed_endpoints"},
		{"a path under the prefix", narrow, with(narrow, func(g *Grant) { g.Endpoints = []string{"/v1/chat/completions"} }), ""},
		{"a sibling sharing the prefix text", narrow, with(narrow, func(g *Grant) { g.Endpoints = []string{"/v1/chatter"} }), "allowed_endpoints[0]"},
		{"an unlimited target", narrow, with(narrow, func(g *Grant) { g.Limits.TPM = 0 }), "limits.tokens_per_minute"},
		{"a higher budget", narrow, with(narrow, func(g *Grant) { g.Limits.MonthlyTokens = 5001 }), "limits.monthly_token_budget"},
		{"a higher rate", narrow, with(narrow, func(g *Grant) { g.Limits.RPM = 11 }), "limits.requests_per_minute"},
		{"an unlimited caller covers limits", admin, with(narrow, func(g *Grant) { g.Limits = store.Limits{} }), ""},
		{"a later expiry", narrow, with(narrow, func(g *Grant) { g.Expires = g.Expires.Add(time.Second) }), "expire_time"},
		{"an earlier expiry", narrow, with(narrow, func(g *Grant) { g.Expires = t0 }), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Covers(tt.caller, tt.target)
			if tt.field == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrPermission)
			// The message leads with the field; the status code alone says
			// "permission denied".
			require.True(t, strings.HasPrefix(err.Error(), tt.field+":"), "want field %s first in %q", tt.field, err)
		})
	}
}

func TestKeyGrantNarrowsByTenant(t *testing.T) {
	k := store.Key{Scopes: []string{ScopeChatWrite}, AllowedModels: []string{}, AllowedEndpoints: []string{},
		Limits: store.Limits{RPM: 50, MonthlyTokens: 0}}
	g := keyGrant(k, store.RoleMember, store.TenantLimits{})
	require.Nil(t, g.Models, "an empty stored list means every model")
	require.Nil(t, g.Endpoints)
	g = keyGrant(k, store.RoleMember, store.TenantLimits{RPM: 20, MonthlyTokens: 100, AllowedModels: []string{"echo"}})
	require.Equal(t, store.Limits{RPM: 20, MonthlyTokens: 100}, g.Limits)
	require.Equal(t, []string{"echo"}, g.Models)
	k.AllowedModels = []string{"big"}
	g = keyGrant(k, store.RoleMember, store.TenantLimits{AllowedModels: []string{"echo"}})
	require.NotNil(t, g.Models)
	require.Empty(t, g.Models, "disjoint lists allow nothing, not everything")
}

func TestInvisibleCharacters(t *testing.T) {
	for _, r := range []rune{0x202E, 0x2066, 0x2067, 0x2068, 0x2069, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD, 0x061C,
		0x180E, 0x3164, 0x115F, 0xFE0F, 0xE0001, 0xE000, 0x00A0, 0x2003, 0xFFFF} {
		require.True(t, invisible(r), "U+%04X", r)
	}
	for _, r := range []rune{'a', 'Z', ' ', '@', 'é', 'ß', '山', 'ё', '-', '.', '_', '+'} {
		require.False(t, invisible(r), "U+%04X", r)
	}
}
