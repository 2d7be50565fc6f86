package server

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/permissions"
)

// TestPolicyMatchesPermissionTable: ingestion's per-method caller
// allow-list is the one pkg/permissions lists.
func TestPolicyMatchesPermissionTable(t *testing.T) {
	require.NoError(t, permissions.Default().CheckPolicy(defaultPolicy, "rampart.ingestion.v1.IngestionService"))
}
