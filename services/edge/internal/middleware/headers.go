package middleware

import (
	"net/http"
	"strings"

	"github.com/rampart-platform/rampart/services/edge/internal/httperr"
)

// CodeAmbiguousCredentials is the error code of a request that presents
// more than one API key.
const CodeAmbiguousCredentials = "ambiguous_credentials"

// reservedPrefixes are header names a client may not send through the edge:
// "Grpc-" covers every header grpc-gateway turns into gRPC metadata or call
// options (Grpc-Timeout becomes the backend call's deadline,
// Grpc-Metadata-* becomes metadata under any name, Grpc-Trace-Bin, ...);
// "X-Rampart-" is the namespace of the edge's own metadata
// (x-rampart-principal). The edge sets what backends may trust itself.
var reservedPrefixes = []string{"Grpc-", "X-Rampart-"}

// HeaderGuard refuses requests whose credentials are ambiguous (two
// Authorization fields, two X-Api-Key fields, or both headers carrying
// different keys: the edge and a component in front of it could each pick
// another one) with 400, and removes every reserved header (see
// reservedPrefixes) so no client-sent gRPC metadata or call option reaches
// a backend, whatever route or relay handles the request.
func HeaderGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Header.Values without canonicalizing the names again
		// (header_keys.go).
		auth, apiKey := r.Header[HeaderAuthorization], r.Header[HeaderAPIKey]
		switch {
		case len(auth) > 1:
			httperr.WriteStatus(w, r, http.StatusBadRequest, CodeAmbiguousCredentials,
				"the request has more than one Authorization header; send exactly one")
			return
		case len(apiKey) > 1:
			httperr.WriteStatus(w, r, http.StatusBadRequest, CodeAmbiguousCredentials,
				"the request has more than one X-Api-Key header; send exactly one")
			return
		case len(auth) == 1 && len(apiKey) == 1 && !sameKey(auth[0], apiKey[0]):
			httperr.WriteStatus(w, r, http.StatusBadRequest, CodeAmbiguousCredentials,
				"the Authorization and X-Api-Key headers carry different keys; send one")
			return
		}
		for name := range r.Header {
			if reserved(name) {
				delete(r.Header, name)
			}
		}
		next.ServeHTTP(w, r)
	})
}

// sameKey reports whether "Bearer <key>" and an X-Api-Key value name the
// same key.
func sameKey(authorization, apiKey string) bool {
	scheme, rest, ok := strings.Cut(authorization, " ")
	return ok && strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(rest) == strings.TrimSpace(apiKey)
}

// reservedFirst marks the bytes a reserved name can start with (each
// prefix's first letter in both cases), so that the names of a request
// that start with another byte — nearly all of them — are passed over with
// one look-up instead of a case-insensitive comparison per prefix (issue 15).
var reservedFirst = func() (t [256]bool) {
	for _, p := range reservedPrefixes {
		c := p[0]
		t[c], t[c|0x20], t[c&^0x20] = true, true, true
	}
	return t
}()

// reserved matches case-insensitively: r.Header keys are canonical for
// requests net/http parsed, but a handler may be called with any map.
func reserved(name string) bool {
	if name == "" || !reservedFirst[name[0]] {
		return false
	}
	for _, p := range reservedPrefixes {
		if len(name) >= len(p) && strings.EqualFold(name[:len(p)], p) {
			return true
		}
	}
	return false
}
