package middleware

import "net/http"

// The chain reads and removes request headers by names written in
// canonical form (the constants below and in the callers), so it indexes
// the map itself: Header.Get, Values and Del canonicalize their argument
// on every call — a validity and case scan of the name, ~370 instructions
// each, ~4,000 per chat completion over the chain's eleven calls (issue
// 15, ADR 0066). For a canonical name the result is the same entry:
// net/http stores received names canonicalized, and Get(k) looks up
// h[CanonicalMIMEHeaderKey(k)], which is h[k] when k is canonical
// (TestCanonicalNames).

// Canonical header names the chain reads or removes: the two credential
// headers (also authn's) and the ones only this package reads.
const (
	HeaderAuthorization = "Authorization"
	HeaderAPIKey        = "X-Api-Key" //nolint:gosec // G101: a header name, not a credential
	headerOrigin        = "Origin"
	headerXFF           = "X-Forwarded-For"
	headerXFH           = "X-Forwarded-Host"
)

// HeaderValue is h.Get(name) for a name in canonical form, without
// canonicalizing it again.
func HeaderValue(h http.Header, name string) string {
	if v := h[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}
