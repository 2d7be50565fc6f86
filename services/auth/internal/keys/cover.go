package keys

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rampart-platform/rampart/services/auth/internal/store"
)

// Grant is everything a key lets its holder do: what the covering rule
// compares. A key may be created, rotated, revoked or read by another key
// only when the caller's Grant covers the target's (see [Covers]).
type Grant struct {
	// Role of the key's subject; a lower number is stronger. 0: the subject
	// is no longer a member (the key cannot verify).
	Role store.Role
	// Scopes as stored on the key (not narrowed by the role: a later
	// promotion would widen the effective scopes back to these).
	Scopes []string
	// Models the key may use; nil: every model the tenant allows.
	Models []string
	// Endpoints (HTTP path prefixes); nil: every endpoint.
	Endpoints []string
	// Limits are the key's effective limits: the key's own, narrowed by the
	// tenant's (0: no limit).
	Limits store.Limits
	// Expires is when the key stops working.
	Expires time.Time
}

// Covers reports whether a caller holding c may act on a key holding t:
// t's subject role is not stronger than c's; t's scopes are c's or a
// subset (scope admin covers every scope); t's models and endpoints are
// within c's; each of t's limits is at most c's (a limit of 0 is none, so
// c's 0 covers anything and t's 0 exceeds any positive limit of c); t does
// not outlive c. The error is a PermissionDenied naming the first field of
// t that exceeds c.
func Covers(c, t Grant) error {
	if t.Role != 0 && (c.Role == 0 || t.Role < c.Role) {
		return deniedf("role: the key's subject is %s, above the calling key's role %s", RoleName(t.Role), roleOrNone(c.Role))
	}
	if !slices.Contains(c.Scopes, ScopeAdmin) {
		for i, s := range t.Scopes {
			if !slices.Contains(c.Scopes, s) {
				return deniedf("scopes[%d]: %q is not held by the calling key", i, s)
			}
		}
	}
	if err := listCovers("allowed_models", c.Models, t.Models, func(have, want string) bool { return have == want }); err != nil {
		return err
	}
	if err := listCovers("allowed_endpoints", c.Endpoints, t.Endpoints, endpointCovers); err != nil {
		return err
	}
	for _, f := range limitFields(c.Limits, t.Limits) {
		if f.c > 0 && (f.t == 0 || f.t > f.c) {
			have := "no limit"
			if f.t > 0 {
				have = fmt.Sprint(f.t)
			}
			return deniedf("%s: %s exceeds the calling key's limit of %d", f.name, have, f.c)
		}
	}
	if !c.Expires.IsZero() && t.Expires.After(c.Expires) {
		return deniedf("expire_time: %s is after the calling key's expiry %s", t.Expires.UTC().Format(time.RFC3339), c.Expires.UTC().Format(time.RFC3339))
	}
	return nil
}

func roleOrNone(r store.Role) string {
	if n := RoleName(r); n != "" {
		return n
	}
	return "none"
}

// listCovers: c nil allows everything; otherwise t must be non-nil and
// every entry of t covered by one of c (an empty, non-nil t allows nothing).
func listCovers(field string, c, t []string, covered func(have, want string) bool) error {
	if c == nil {
		return nil
	}
	if t == nil {
		return deniedf("%s: an empty list allows everything; the calling key allows only %s", field, strings.Join(c, ", "))
	}
	for i, w := range t {
		if !slices.ContainsFunc(c, func(h string) bool { return covered(h, w) }) {
			return deniedf("%s[%d]: %q is not allowed to the calling key", field, i, truncate(w))
		}
	}
	return nil
}

// endpointCovers reports whether every path the edge lets through prefix
// want is also let through prefix have. It mirrors the edge's match
// (authn.PathHasPrefix): a prefix ending in "/" matches every path that
// starts with it; any other prefix matches itself and the paths that
// continue it with "/" or ":". So "/v1/secrets/" does not cover
// "/v1/secrets:batchGet", which the edge would not let it reach.
func endpointCovers(have, want string) bool {
	if have == want {
		return true
	}
	if strings.HasSuffix(have, "/") {
		return strings.HasPrefix(want, have)
	}
	return strings.HasPrefix(want, have) && (want[len(have)] == '/' || want[len(have)] == ':')
}

type limitField struct {
	name string
	c, t int64
}

func limitFields(c, t store.Limits) []limitField {
	return []limitField{
		{"limits.requests_per_minute", c.RPM, t.RPM},
		{"limits.tokens_per_minute", c.TPM, t.TPM},
		{"limits.monthly_token_budget", c.MonthlyTokens, t.MonthlyTokens},
	}
}

// narrowLimit is the effective value of two limits where 0 means none.
func narrowLimit(a, b int64) int64 {
	switch {
	case a == 0:
		return b
	case b == 0:
		return a
	default:
		return min(a, b)
	}
}

// narrowModels is the effective model list of a key (k) inside a tenant
// (t); nil means every model. An empty intersection of two non-empty
// lists is returned as an empty, non-nil slice: nothing is allowed.
func narrowModels(k, t []string) []string {
	switch {
	case len(t) == 0 && len(k) == 0:
		return nil
	case len(t) == 0:
		return k
	case len(k) == 0:
		return t
	}
	out := []string{}
	for _, m := range k {
		if slices.Contains(t, m) {
			out = append(out, m)
		}
	}
	return out
}

// keyGrant is the grant of key k whose subject has role r in a tenant
// with limits tl.
func keyGrant(k store.Key, r store.Role, tl store.TenantLimits) Grant {
	return Grant{
		Role:      r,
		Scopes:    k.Scopes,
		Models:    narrowModels(k.AllowedModels, tl.AllowedModels),
		Endpoints: nilIfEmpty(k.AllowedEndpoints),
		Limits: store.Limits{
			RPM:           narrowLimit(k.Limits.RPM, tl.RPM),
			TPM:           narrowLimit(k.Limits.TPM, tl.TPM),
			MonthlyTokens: narrowLimit(k.Limits.MonthlyTokens, tl.MonthlyTokens),
		},
		Expires: k.ExpiresAt,
	}
}

// nilIfEmpty normalises a stored list: an empty list on a key means "all".
func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}
