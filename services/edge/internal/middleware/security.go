package middleware

import (
	"net/http"
	"slices"
	"strings"

	"github.com/rampart-platform/rampart/services/edge/internal/httperr"
)

var (
	nosniff    = []string{"nosniff"}
	frameDeny  = []string{"DENY"}
	noStore    = []string{"no-store"}
	noReferrer = []string{"no-referrer"}
	cspNone    = []string{"default-src 'none'; frame-ancestors 'none'"}
	hsts       = []string{"max-age=63072000; includeSubDomains"}
)

// SecurityHeaders sets the headers every edge response carries:
// nosniff, DENY framing, no-store caching (API responses are per-caller),
// no referrer, and HSTS when the edge terminates TLS.
func SecurityHeaders(tls bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Shared value slices (canonical keys, len == cap, never written
		// through): Header.Set allocated a new one per header per request
		// (issue 15). A later Set replaces a slice; an Add copies it.
		h := w.Header()
		h["X-Content-Type-Options"] = nosniff
		h["X-Frame-Options"] = frameDeny
		h["Cache-Control"] = noStore
		h["Referrer-Policy"] = noReferrer
		h["Content-Security-Policy"] = cspNone
		if tls {
			h["Strict-Transport-Security"] = hsts
		}
		next.ServeHTTP(w, r)
	})
}

// exposedHeaders are the response headers a browser client may read: the
// request ids and every rate-limit header the edge or inference sets
// (requests at the edge, tokens from inference, on answers and on 429s),
// as OpenAI's SDKs read them.
var exposedHeaders = strings.Join([]string{
	RequestIDHeader, ClientRequestIDHeader, "Retry-After",
	"X-Ratelimit-Limit-Requests", "X-Ratelimit-Remaining-Requests", "X-Ratelimit-Reset-Requests",
	"X-Ratelimit-Limit-Tokens", "X-Ratelimit-Remaining-Tokens", "X-Ratelimit-Reset-Tokens",
}, ", ")

// CORS answers cross-origin requests only for origins on the allow-list
// (exact match; empty list: CORS off, browsers get no CORS headers and
// preflights are refused).
func CORS(allowed []string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := HeaderValue(r.Header, headerOrigin)
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		ok := slices.Contains(allowed, origin)
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		if ok {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			h.Set("Access-Control-Expose-Headers", exposedHeaders)
		}
		if preflight {
			if !ok {
				httperr.WriteStatus(w, r, http.StatusForbidden, "cors_origin_not_allowed", "origin is not allowed")
				return
			}
			h := w.Header()
			h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Api-Key, X-Request-Id, X-Client-Request-Id")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}
