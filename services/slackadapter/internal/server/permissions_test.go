package server

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/permissions"
)

// TestPolicyMatchesPermissionTable: the Slack adapter's per-method caller
// allow-list is the one pkg/permissions lists, and the methods callable
// without a principal assertion are the table's.
func TestPolicyMatchesPermissionTable(t *testing.T) {
	tbl := permissions.Default()
	require.NoError(t, tbl.CheckPolicy(DefaultPolicy(), "rampart.slackadapter.v1.SlackAdapterService"))
	var exempt []string
	for _, r := range tbl.RPCs() {
		if r.Service() == "/rampart.slackadapter.v1.SlackAdapterService" && !r.Principal {
			exempt = append(exempt, r.Name)
		}
	}
	require.ElementsMatch(t, exempt, PrincipalExempt)
}
