package permissions_test

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/permissions"
)

var update = flag.Bool("update", false, "rewrite the generated table in docs/security.md")

const securityDoc = "../../docs/security.md"

// TestSecurityDoc: the permission table in docs/security.md is the one
// rendered from the table (run with -update after changing the table).
func TestSecurityDoc(t *testing.T) {
	data, err := os.ReadFile(securityDoc)
	require.NoError(t, err)
	doc := string(data)
	begin := strings.Index(doc, permissions.DocBegin)
	end := strings.Index(doc, permissions.DocEnd)
	require.True(t, begin >= 0 && end > begin, "docs/security.md must hold the generated table between %q and %q", permissions.DocBegin, permissions.DocEnd)
	want := permissions.DocBegin + "\n\n" + permissions.Default().Markdown() + "\n" + permissions.DocEnd
	got := doc[begin : end+len(permissions.DocEnd)]
	if *update {
		require.NoError(t, os.WriteFile(securityDoc, []byte(doc[:begin]+want+doc[end+len(permissions.DocEnd):]), 0o644)) //nolint:gosec // a documentation file
		return
	}
	require.Equal(t, want, got, "docs/security.md is stale: go test ./pkg/permissions -run TestSecurityDoc -update")
}
