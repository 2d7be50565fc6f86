package keys

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/auth/internal/store"
)

func TestRoleCeilings(t *testing.T) {
	tests := []struct {
		role    store.Role
		allowed []string
		denied  []string
	}{
		{store.RoleOwner, KnownScopes, nil},
		{store.RoleAdmin, KnownScopes, nil},
		{store.RoleMember, []string{ScopeChatWrite, ScopeIngestRead, ScopeSecretsRead}, []string{ScopeAdmin, ScopeSecretsWrite}},
		{store.RoleViewer, []string{ScopeIngestRead, ScopeUsageRead}, []string{ScopeChatWrite, ScopeIngestWrite, ScopeAdmin}},
		{0, nil, KnownScopes},
	}
	for _, tt := range tests {
		t.Run(RoleName(tt.role), func(t *testing.T) {
			for _, s := range tt.allowed {
				require.Contains(t, RoleScopes(tt.role), s)
			}
			for _, s := range tt.denied {
				require.NotContains(t, RoleScopes(tt.role), s)
			}
			require.Equal(t, tt.role, RoleFromName(RoleName(tt.role)))
		})
	}
	require.Equal(t, []string{ScopeChatWrite}, effectiveScopes([]string{ScopeChatWrite, ScopeAdmin}, store.RoleMember))
	require.Empty(t, effectiveScopes([]string{ScopeChatWrite}, 0))
}

func TestValidation(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		field string
	}{
		{"empty", checkText("name", "", 10), "name"},
		{"too long", checkText("name", "abcdefghijk", 10), "name"},
		{"control", checkText("name", "a\x00b", 10), "name"},
		{"padded", checkText("name", " a", 10), "name"},
		{"bad utf8", checkText("name", "a\xffb", 10), "name"},
		{"unknown scope", checkScopes("scopes", []string{"chat:write", "x"}), "scopes[1]"},
		{"duplicate scope", checkScopes("scopes", []string{"chat:write", "chat:write"}), "scopes[1]"},
		{"endpoint", checkList("allowed_endpoints", []string{"/ok", "bad"}, true), "allowed_endpoints[1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ie *InvalidArgumentError
			require.ErrorAs(t, tt.err, &ie)
			require.Equal(t, tt.field, ie.Field)
		})
	}
	require.NoError(t, checkText("name", "ok name", 10))
	require.NoError(t, checkScopes("scopes", []string{"chat:write", "admin"}))
}

func TestFailureLimiter(t *testing.T) {
	l := newFailureLimiter(2, 60e9)
	var now = t0()
	require.True(t, l.allow("a", now))
	require.True(t, l.allow("a", now))
	require.False(t, l.allow("a", now))
	require.True(t, l.allow("b", now), "per source")
	require.True(t, l.allow("a", now.Add(61e9)), "a new window")
}

func t0() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }
