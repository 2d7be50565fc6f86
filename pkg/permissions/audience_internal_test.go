package permissions

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAudiencesAreTheScan: what New computes for each caller is what
// scanning the RPC rows answers, for every caller the table names and for
// names it does not (none).
func TestAudiencesAreTheScan(t *testing.T) {
	tbl := Default()
	callers := map[string]bool{"": true, "nobody": true, "keyvault-evil": true}
	for _, r := range tbl.RPCs() {
		for _, c := range r.Callers {
			callers[c] = true
		}
	}
	for c := range callers {
		require.Equal(t, tbl.scanAudiences(c), tbl.Audiences(c), c)
	}
	require.Nil(t, tbl.Audiences("nobody"))
}
