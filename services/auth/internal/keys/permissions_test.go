package keys

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/permissions"
	"github.com/rampart-platform/rampart/services/auth/internal/store"
)

// TestScopesMatchPermissionTable: the scopes auth issues and each role's
// ceiling are the permission table's.
func TestScopesMatchPermissionTable(t *testing.T) {
	require.ElementsMatch(t, permissions.AllScopes, KnownScopes)
	for _, r := range []store.Role{store.RoleOwner, store.RoleAdmin, store.RoleMember, store.RoleViewer} {
		require.ElementsMatch(t, permissions.RoleCeiling(permissions.RoleFromName(RoleName(r))), RoleScopes(r), "ceiling of role %s", RoleName(r))
	}
}
