package authn

import (
	"path"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// cleanPathRef is the definition canonicalPath answers for: path.Clean
// that keeps a trailing slash.
func cleanPathRef(p string) string {
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c
}

func TestCanonicalPath(t *testing.T) {
	for _, tc := range []struct {
		path string
		want bool
	}{
		{"/", true},
		{"/v1/chat/completions", true},
		{"/v1/models/", true},
		{"/v1/secrets/dev/app/db/password", true},
		{"/v1/.well-known/x", true},
		{"/v1/..x/y", true},
		{"/v1/x..", true},
		{"//", false},
		{"//v1/chat", false},
		{"/v1//chat", false},
		{"/v1/chat//", false},
		{"/.", false},
		{"/..", false},
		{"/./", false},
		{"/v1/./chat", false},
		{"/v1/../chat", false},
		{"/v1/chat/.", false},
		{"/v1/chat/..", false},
		{"/v1/chat/../", false},
	} {
		t.Run(tc.path, func(t *testing.T) {
			require.Equal(t, tc.want, canonicalPath(tc.path))
			require.Equal(t, cleanPathRef(tc.path) == tc.path, canonicalPath(tc.path), "the definition")
		})
	}
	require.Zero(t, testing.AllocsPerRun(100, func() { _ = canonicalPath("/v1/chat/completions") }))
}

// FuzzCanonicalPath: canonicalPath is cleanPathRef(p) == p for every path
// the middleware asks it about (those starting with '/').
func FuzzCanonicalPath(f *testing.F) {
	for _, s := range []string{"/", "/v1/chat/completions", "/v1/x/", "//", "/./a", "/a/..", "/a/b/../c/", "/..."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if p == "" || p[0] != '/' {
			return
		}
		require.Equal(t, cleanPathRef(p) == p, canonicalPath(p), "%q", p)
	})
}
