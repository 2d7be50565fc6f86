package config

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/permissions"
)

// TestPolicyMatchesPermissionTable: inference's default per-method caller
// allow-list is the one pkg/permissions lists.
func TestPolicyMatchesPermissionTable(t *testing.T) {
	data, err := defaults.ReadFile("authz_default.json")
	require.NoError(t, err)
	require.NoError(t, permissions.Default().CheckPolicy(data, "rampart.inference.v1.InferenceService"))
}
