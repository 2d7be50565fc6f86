package permissions

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLiteralMatchesAreMatch: the precomputed answers for literal paths are
// what scanning every route answers, for every route's pattern (and
// variations of it) and every method, including ones no route uses.
func TestLiteralMatchesAreMatch(t *testing.T) {
	tbl := Default()
	require.NotEmpty(t, tbl.literal, "the default table has literal routes (the chat routes)")
	methods := []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "BREW", ""}
	for _, r := range tbl.Routes() {
		p := r.Pattern
		for _, path := range []string{p, p + "/", strings.ToUpper(p), p + ":x", strings.TrimSuffix(p, "/*") + "/a/b"} {
			for _, m := range methods {
				wantRoute, wantKnown := tbl.match(m, path)
				gotRoute, gotKnown := tbl.Match(m, path)
				require.Equal(t, wantRoute, gotRoute, "%s %s", m, path)
				require.Equal(t, wantKnown, gotKnown, "%s %s", m, path)
			}
		}
	}
	route, _ := tbl.Match("POST", "/v1/chat/completions")
	require.NotNil(t, route)
	require.Equal(t, "/v1/chat/completions", route.Pattern)
}
