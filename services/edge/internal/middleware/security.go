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

// SecurityHeaders sets the headers every edge response carries: nosniff,
// no-store caching (API responses are per-caller), a CSP that allows no
// content and no framing, and HSTS when the edge terminates TLS.
//
// Not X-Frame-Options or Referrer-Policy (ADR 0129): the CSP's
// frame-ancestors 'none' is what X-Frame-Options says, for every browser
// still updated, and a JSON or SSE answer is never a document whose
// links or loads a referrer policy would govern. The edge's one source
// of HTML pages, the Slack relay, adds both (HTMLPageHeaders). Two keys
// fewer keep an answer's header map within Go's small-map size (ADR
// 0074: ~5 % of the edge's instructions per answer).
func SecurityHeaders(tls bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Shared value slices (canonical keys, len == cap, never written
		// through): Header.Set allocated a new one per header per request
		// (issue 15). A later Set replaces a slice; an Add copies it.
		h := w.Header()
		h["X-Content-Type-Options"] = nosniff
		h["Cache-Control"] = noStore
		h["Content-Security-Policy"] = cspNone
		if tls {
			h["Strict-Transport-Security"] = hsts
		}
		next.ServeHTTP(w, r)
	})
}

// HTMLPageHeaders adds, to h, the headers a page a browser renders
// carries beyond SecurityHeaders': no framing for browsers without CSP
// level 2 and no referrer on the page's links and redirects.
func HTMLPageHeaders(h http.Header) {
	h["X-Frame-Options"] = frameDeny
	h["Referrer-Policy"] = noReferrer
}

// exposedHeaders are the response headers a browser client may read: the
// request ids and every rate-limit header the edge or inference sets
// (requests at the edge, tokens from inference, on answers and on 429s),
// as OpenAI's SDKs read them.
var exposedHeaders = strings.Join([]string{
	RequestIDHeader, ClientRequestIDHeader, "Retry-After", "Retry-After-Ms",
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
