package middleware

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCanonicalNames: every name the chain indexes the header map with
// directly is in canonical form, so h[name] is the entry Header.Get, Values
// and Del would use; HeaderValue answers as Get does.
func TestCanonicalNames(t *testing.T) {
	for _, name := range []string{
		HeaderAuthorization, HeaderAPIKey, headerOrigin, headerXFF, headerXFH,
		RequestIDHeader, ClientRequestIDHeader,
	} {
		require.Equal(t, http.CanonicalHeaderKey(name), name)
	}
	h := http.Header{}
	require.Empty(t, HeaderValue(h, HeaderAuthorization))
	h.Add("authorization", "Bearer a")
	h.Add("AUTHORIZATION", "Bearer b")
	h["X-Api-Key"] = []string{}
	for _, name := range []string{HeaderAuthorization, HeaderAPIKey} {
		require.Equal(t, h.Get(name), HeaderValue(h, name), name)
		require.Equal(t, h.Values(name), h[name], name)
	}
}
