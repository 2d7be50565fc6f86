package keys

import (
	"slices"

	"github.com/rampart-platform/rampart/pkg/permissions"
	"github.com/rampart-platform/rampart/services/auth/internal/store"
)

// Scopes known to Rampart: the permission table's (pkg/permissions), which
// the edge enforces, so auth issues exactly those.
const (
	ScopeChatWrite       = permissions.ScopeChatWrite
	ScopeEmbeddingsWrite = permissions.ScopeEmbeddingsWrite
	ScopeIngestWrite     = permissions.ScopeIngestWrite
	ScopeIngestRead      = permissions.ScopeIngestRead
	ScopeSecretsRead     = permissions.ScopeSecretsRead
	ScopeSecretsWrite    = permissions.ScopeSecretsWrite
	ScopeUsageRead       = permissions.ScopeUsageRead
	// ScopeKeysWrite allows creating, rotating and revoking keys (within
	// the covering rule); a key may always rotate or revoke itself.
	ScopeKeysWrite = permissions.ScopeKeysWrite
	ScopeAdmin     = permissions.ScopeAdmin
)

// KnownScopes lists every valid scope (permissions.AllScopes; not to be
// modified).
var KnownScopes = permissions.AllScopes

// RoleScopes is the ceiling of scopes a role's keys may hold: the
// permission table's (permissions.RoleCeiling); nil for no role.
func RoleScopes(r store.Role) []string {
	if name := RoleName(r); name != "" {
		return permissions.RoleCeiling(permissions.RoleFromName(name))
	}
	return nil
}

// RoleName is the lower-case name used in principals.
func RoleName(r store.Role) string {
	switch r {
	case store.RoleOwner:
		return "owner"
	case store.RoleAdmin:
		return "admin"
	case store.RoleMember:
		return "member"
	case store.RoleViewer:
		return "viewer"
	default:
		return ""
	}
}

// RoleFromName parses a role name.
func RoleFromName(s string) store.Role {
	for _, r := range []store.Role{store.RoleOwner, store.RoleAdmin, store.RoleMember, store.RoleViewer} {
		if RoleName(r) == s {
			return r
		}
	}
	return 0
}

func hasScope(scopes []string, s string) bool { return permissions.HasScope(scopes, s) }

// effectiveScopes intersects a key's scopes with its subject's role ceiling.
func effectiveScopes(key []string, role store.Role) []string {
	ceiling := RoleScopes(role)
	out := make([]string, 0, len(key))
	for _, s := range key {
		if slices.Contains(ceiling, s) {
			out = append(out, s)
		}
	}
	return out
}
