package app_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/permissions"
	"github.com/rampart-platform/rampart/services/keyvault/internal/app"
)

// TestPolicyMatchesPermissionTable: keyvault's per-method caller allow-list
// is the one pkg/permissions lists (its secrets policy then decides per
// secret name).
func TestPolicyMatchesPermissionTable(t *testing.T) {
	require.NoError(t, permissions.Default().CheckPolicy(app.DefaultAuthz,
		"rampart.keyvault.v1.SecretsService", "rampart.keyvault.v1.KmsService",
		"rampart.keyvault.v1.ObservabilityService", "rampart.keyvault.v1.TenantAdminService", "rampart.keyvault.v1.KeyWrapService",
		"rampart.keyvault.v1.ShredEventsService"))
	for _, m := range app.ExemptMethods {
		rpc, ok := permissions.Default().RPC(m)
		if ok {
			require.False(t, rpc.Principal, "%s is exempt from the principal assertion", m)
		}
	}
}
