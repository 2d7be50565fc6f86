package server_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/permissions"
	"github.com/rampart-platform/rampart/services/auth/internal/server"
)

var authServices = []string{"rampart.auth.v1.AuthService", "rampart.auth.v1.KeyService", "rampart.auth.v1.TenantService",
	"rampart.auth.v1.MemberService", "rampart.auth.v1.AuditService"}

// TestPolicyMatchesPermissionTable: auth's per-method caller allow-list is
// the one pkg/permissions lists (a method missing from either fails), and
// the methods callable without a principal assertion are the table's
// service-to-service ones.
func TestPolicyMatchesPermissionTable(t *testing.T) {
	tbl := permissions.Default()
	require.NoError(t, tbl.CheckPolicy(server.DefaultPolicy, authServices...))
	var exempt []string
	for _, r := range tbl.RPCs() {
		for _, s := range authServices {
			if r.Service() == "/"+s && !r.Principal {
				exempt = append(exempt, r.Name)
			}
		}
	}
	require.ElementsMatch(t, exempt, server.ExemptMethodNames)
}
