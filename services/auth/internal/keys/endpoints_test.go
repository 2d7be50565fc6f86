package keys

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/permissions"
)

// edgeAllows is the edge's allowed_endpoints check
// (services/edge/internal/authn.PathHasPrefix, restated here because that
// package is the edge's internal one): a prefix ending in "/" allows every
// path starting with it; any other prefix allows itself and the paths that
// continue it with "/" or ":".
func edgeAllows(prefix, path string) bool {
	if !strings.HasPrefix(path, prefix) {
		return false
	}
	if len(path) == len(prefix) || strings.HasSuffix(prefix, "/") {
		return true
	}
	return path[len(prefix)] == '/' || path[len(prefix)] == ':'
}

// TestEndpointCoversMatchesTheEdge (escalation review 2026-12-06): the
// covering rule's endpoint comparison must never call a target prefix
// covered when the target lets a request through the edge that the
// caller's prefix does not. It used to trim a caller's trailing "/", so a
// key limited to "/v1/secrets/" could mint one for "/v1/secrets:batchGet",
// and one limited to "/v1/collections/c/documents/" one for
// "/v1/collections/c/documents:crawl" — routes its own key never reached.
// Checked over every concrete path of the permission table.
func TestEndpointCoversMatchesTheEdge(t *testing.T) {
	var paths []string
	for _, r := range permissions.Default().Routes() {
		params := map[string]string{}
		for _, p := range r.Params() {
			params[p] = "c"
		}
		paths = append(paths, r.Path(params))
	}
	// Prefixes: every path, each with a trailing "/", and each cut at every
	// "/" or ":" (with and without the separator).
	seen := map[string]bool{"/": true}
	for _, p := range paths {
		seen[p], seen[p+"/"] = true, true
		for i := 1; i < len(p); i++ {
			if p[i] == '/' || p[i] == ':' {
				seen[p[:i]], seen[p[:i+1]] = true, true
			}
		}
	}
	var prefixes []string
	for p := range seen {
		prefixes = append(prefixes, p)
	}
	checked := 0
	for _, have := range prefixes {
		for _, want := range prefixes {
			if !endpointCovers(have, want) {
				continue
			}
			checked++
			for _, p := range paths {
				if edgeAllows(want, p) {
					require.True(t, edgeAllows(have, p), "%q covers %q, yet the edge lets %q reach %s and not %q", have, want, want, p, have)
				}
			}
		}
	}
	require.Greater(t, checked, 500, "covered prefix pairs checked")
	require.False(t, endpointCovers("/v1/secrets/", "/v1/secrets:batchGet"))
	require.True(t, endpointCovers("/v1/secrets/", "/v1/secrets/prod/app/db/pw:value"))
	require.True(t, endpointCovers("/v1/secrets", "/v1/secrets:batchGet"))
	require.True(t, endpointCovers("/", "/v1/anything"))
}
