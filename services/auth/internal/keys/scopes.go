package keys

import (
	"slices"

	"github.com/rampart-platform/rampart/services/auth/internal/store"
)

// Scopes known to Rampart.
const (
	ScopeChatWrite       = "chat:write"
	ScopeEmbeddingsWrite = "embeddings:write"
	ScopeIngestWrite     = "ingest:write"
	ScopeIngestRead      = "ingest:read"
	ScopeSecretsRead     = "secrets:read"
	ScopeSecretsWrite    = "secrets:write"
	ScopeUsageRead       = "usage:read"
	// ScopeKeysWrite allows creating, rotating and revoking keys (within
	// the covering rule); a key may always rotate or revoke itself.
	ScopeKeysWrite = "keys:write"
	ScopeAdmin     = "admin"
)

// KnownScopes lists every valid scope.
var KnownScopes = []string{ScopeChatWrite, ScopeEmbeddingsWrite, ScopeIngestWrite, ScopeIngestRead,
	ScopeSecretsRead, ScopeSecretsWrite, ScopeUsageRead, ScopeKeysWrite, ScopeAdmin}

// RoleScopes is the ceiling of scopes a role's keys may hold.
func RoleScopes(r store.Role) []string {
	switch r {
	case store.RoleOwner, store.RoleAdmin:
		return KnownScopes
	case store.RoleMember:
		return []string{ScopeChatWrite, ScopeEmbeddingsWrite, ScopeIngestWrite, ScopeIngestRead, ScopeSecretsRead, ScopeUsageRead, ScopeKeysWrite}
	case store.RoleViewer:
		return []string{ScopeIngestRead, ScopeUsageRead}
	default:
		return nil
	}
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

func hasScope(scopes []string, s string) bool {
	return slices.Contains(scopes, s) || slices.Contains(scopes, ScopeAdmin)
}

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
