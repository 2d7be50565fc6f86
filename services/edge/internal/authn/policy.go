package authn

import (
	"net/http"
	"strings"
)

// Rule is one route's access requirement. Prefix matches whole path
// segments ("/v1/keys" matches "/v1/keys", "/v1/keys/abc" and
// "/v1/keys:rotate", not "/v1/keysmith"); Exact matches only itself.
type Rule struct {
	// Method restricts the rule to one HTTP method; "" matches any.
	Method string
	Prefix string
	Exact  bool
	// Public routes need no API key (health, OpenAPI, Slack — which the
	// adapter authenticates by signature).
	Public bool
	// Scope the key must hold (principal.HasScope: "admin" holds all).
	// "" means any authenticated key.
	Scope string
}

// Policy is the route table of the edge. The most specific rule wins:
// longest prefix, then a method-specific rule over a method-agnostic one.
// A path no rule names needs an authenticated key and no particular scope
// (the backend still applies its own RBAC). Every path not listed Public is
// authenticated: default deny.
type Policy struct {
	rules []Rule
}

// NewPolicy returns a policy over rules.
func NewPolicy(rules ...Rule) *Policy { return &Policy{rules: rules} }

// DefaultRules is the edge's route table.
func DefaultRules() []Rule {
	return []Rule{
		{Method: http.MethodGet, Prefix: "/healthz", Exact: true, Public: true},
		{Method: http.MethodGet, Prefix: "/readyz", Exact: true, Public: true},
		{Method: http.MethodGet, Prefix: "/openapi.json", Exact: true, Public: true},
		{Prefix: "/slack", Public: true},

		{Prefix: "/v1/chat/completions", Scope: "chat:write"},
		{Prefix: "/v1/completions", Scope: "chat:write"},
		{Prefix: "/v1/embeddings", Scope: "embeddings:write"},
		// Tenant assistants (model names with retrieval settings): managed
		// by admins; used through /v1/chat/completions with chat:write.
		{Prefix: "/v1/rampart/assistants", Scope: "admin"},

		{Method: http.MethodGet, Prefix: "/v1/secrets", Scope: "secrets:read"},
		{Method: http.MethodHead, Prefix: "/v1/secrets", Scope: "secrets:read"},
		{Prefix: "/v1/secrets", Scope: "secrets:write"},
		{Method: http.MethodGet, Prefix: "/api/observability/secrets", Scope: "secrets:read"},
		{Prefix: "/v1/kms", Scope: "admin"},

		{Method: http.MethodGet, Prefix: "/v1/collections", Scope: "ingest:read"},
		{Prefix: "/v1/collections", Scope: "ingest:write"},
		{Method: http.MethodGet, Prefix: "/v1/documents", Scope: "ingest:read"},
		{Prefix: "/v1/documents", Scope: "ingest:write"},
		{Method: http.MethodGet, Prefix: "/v1/ingest", Scope: "ingest:read"},
		{Prefix: "/v1/ingest", Scope: "ingest:write"},
		{Method: http.MethodGet, Prefix: "/v1/search", Scope: "ingest:read"},
		{Method: http.MethodPost, Prefix: "/v1/search", Scope: "ingest:read"},
	}
}

// Match returns the rule for a request.
func (p *Policy) Match(method, path string) Rule {
	best, bestLen, bestMethod := Rule{}, -1, false
	for _, r := range p.rules {
		if r.Method != "" && r.Method != method {
			continue
		}
		if r.Exact {
			if path != r.Prefix {
				continue
			}
		} else if !PathHasPrefix(path, r.Prefix) {
			continue
		}
		l := len(r.Prefix)
		if r.Exact {
			l++ // an exact match beats a prefix of the same length
		}
		if l > bestLen || l == bestLen && r.Method != "" && !bestMethod {
			best, bestLen, bestMethod = r, l, r.Method != ""
		}
	}
	return best
}

// PathHasPrefix reports whether prefix covers path on a segment boundary
// ('/' or the ':' of a custom method).
func PathHasPrefix(path, prefix string) bool {
	if !strings.HasPrefix(path, prefix) {
		return false
	}
	if len(path) == len(prefix) || strings.HasSuffix(prefix, "/") {
		return true
	}
	c := path[len(prefix)]
	return c == '/' || c == ':'
}

// EndpointAllowed reports whether path is within one of the key's allowed
// endpoints; an empty list allows every endpoint.
func EndpointAllowed(allowed []string, path string) bool {
	if len(allowed) == 0 {
		return true
	}
	for _, a := range allowed {
		if a != "" && PathHasPrefix(path, a) {
			return true
		}
	}
	return false
}
