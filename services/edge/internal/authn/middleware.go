package authn

import (
	"context"
	"errors"
	"net/http"
	"strings"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/apikey"
	"github.com/rampart-platform/rampart/pkg/permissions"
	"github.com/rampart-platform/rampart/services/edge/internal/httperr"
	"github.com/rampart-platform/rampart/services/edge/internal/middleware"
	"github.com/rampart-platform/rampart/services/edge/internal/reqstate"
)

// PresentedKey returns the API key of a request: "Authorization: Bearer
// <key>" (scheme case-insensitive) or, for Anthropic/Bedrock-style clients,
// "x-api-key: <key>".
func PresentedKey(r *http.Request) string {
	// Canonical names, read without Header.Get's canonicalization
	// (middleware.HeaderValue).
	if h := middleware.HeaderValue(r.Header, middleware.HeaderAuthorization); h != "" {
		scheme, rest, ok := strings.Cut(h, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(rest)
		}
		return ""
	}
	return strings.TrimSpace(middleware.HeaderValue(r.Header, middleware.HeaderAPIKey))
}

// nonCanonicalMsg answers a path with empty, "." or ".." segments (an
// encoded "/" counts as one).
const nonCanonicalMsg = `path is not canonical: no empty, "." or ".." segments; ` +
	`a secret's name goes in without its leading slash (/v1/secrets/dev/app/db/password)`

// Middleware authenticates every non-public route of policy, enforces the
// route's scopes, minimum role and the key's allowed endpoints, strips the
// credential headers (they never travel to a backend), and puts the
// principal and its assertion into the request context. A route the table
// does not list is refused after authentication: 405 when the path exists
// for another method, else 404.
func (a *Authenticator) Middleware(policy *Policy, next http.Handler) http.Handler {
	if policy == nil {
		policy = NewPolicy(nil)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if p == "" || p[0] != '/' || !canonicalPath(p) {
			// Dot segments or doubled slashes could make the policy and the
			// router disagree about the route; refuse them outright. The
			// usual way to get here is a secret name pasted with its own
			// leading slash, so the message shows the right form.
			httperr.WriteStatus(w, r, http.StatusNotFound, httperr.CodeNotFound, nonCanonicalMsg)
			return
		}
		route, known := policy.routeOf(r)
		if route != nil && route.Public {
			next.ServeHTTP(w, r)
			return
		}
		presented := PresentedKey(r)
		delete(r.Header, middleware.HeaderAuthorization) // canonical: what Header.Del removes
		delete(r.Header, middleware.HeaderAPIKey)
		if presented == "" {
			httperr.WriteStatus(w, r, http.StatusUnauthorized, httperr.CodeMissingAPIKey,
				"missing API key: send it as \"Authorization: Bearer rk_...\"")
			return
		}
		id, err := a.Authenticate(r.Context(), presented, middleware.ClientIP(r.Context()))
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		pr := id.Principal
		// One State per request (reqstate): the tenant is recorded for the
		// log lines at once, the principal only once every check passed.
		st, r := reqstate.Ensure(r)
		st.TenantID = pr.GetTenantId()
		switch {
		case route == nil && known:
			httperr.WriteStatus(w, r, http.StatusMethodNotAllowed, httperr.CodeMethodNotAllowed,
				"method "+r.Method+" is not allowed on "+p)
			return
		case route == nil:
			httperr.WriteStatus(w, r, http.StatusNotFound, httperr.CodeNotFound, "no route for "+r.Method+" "+p)
			return
		case !route.Resolved():
			a.unresolved(w, r, route)
			return
		}
		if route.Tenant == permissions.BindOperator {
			httperr.WriteStatus(w, r, http.StatusForbidden, CodeOperatorOnly,
				r.Method+" "+p+" is deployment configuration: only the platform operator sets it, with the rampart CLI over mTLS")
			return
		}
		if s := route.MissingScope(pr.GetScopes()); s != "" {
			httperr.WriteStatus(w, r, http.StatusForbidden, httperr.CodeInsufficientScope,
				"this API key lacks the \""+s+"\" scope required by "+r.Method+" "+p)
			return
		}
		if role := permissions.HighestRole(pr.GetRoles()); role < route.MinRole {
			httperr.WriteStatus(w, r, http.StatusForbidden, CodeInsufficientRole,
				r.Method+" "+p+" needs the "+route.MinRole.String()+" role or higher; this key's subject is "+role.String())
			return
		}
		if !EndpointAllowed(pr.GetAllowedEndpoints(), p) {
			httperr.WriteStatus(w, r, http.StatusForbidden, httperr.CodeEndpointNotAllowed,
				"this API key is not allowed to call "+p)
			return
		}
		// The route's service gets its own assertion and the delegations
		// for the services it forwards to, nothing else (ADR 0083); those
		// this RPC forwards to where its row narrows them (a Slack admin
		// route that creates no key gets none for auth, ADR 0105 §3).
		f := forwarding(id, route)
		st.Principal, st.Assertion, st.Delegated, st.Outgoing = pr, f.Assertion, f.Delegated, f.MD
		a.serve(w, r, route, pr, next)
	})
}

// serve passes an admitted request on. One of a streaming route may
// outlive its key: it is tracked, and a revocation, a changed grant or the
// tenant's suspension ends it (ADR 0132 §3).
func (a *Authenticator) serve(w http.ResponseWriter, r *http.Request, route *permissions.Route, pr *authv1.Principal, next http.Handler) {
	if !route.Stream {
		next.ServeHTTP(w, r)
		return
	}
	ctx, cancel := context.WithCancelCause(r.Context())
	done := a.streams.add(pr.GetKeyId(), pr.GetTenantId(), cancel)
	defer func() { done(); cancel(nil) }()
	next.ServeHTTP(w, r.WithContext(ctx))
}

// unresolved refuses a route that does not come from the permission table
// (nothing resolved on it: a literal put into the request state). Every
// route the edge serves has a row (router's TestEveryServedRouteHasARow),
// and only the table says what a route forwards to, so such a route is a
// bug: refused, not given a forwarding looked up some other way (ADR 0124).
func (a *Authenticator) unresolved(w http.ResponseWriter, r *http.Request, route *permissions.Route) {
	a.log.ErrorContext(r.Context(), "route not from the permission table: refused", "route", route.Key())
	httperr.WriteStatus(w, r, http.StatusInternalServerError, httperr.CodeInternal, "internal error")
}

// CodeInsufficientRole is the error code of a route refused for the role of
// the key's subject (the key may hold the scope; the role still narrows).
const CodeInsufficientRole = "insufficient_role"

// CodeTenantSuspended refuses a right key of a suspended tenant (403):
// the key is fine, its tenant is not active. Only a key that auth found
// right in every way gets it; a wrong, revoked or expired one of the same
// tenant is the plain 401 invalid_api_key (ADR 0132 §2).
const CodeTenantSuspended = "tenant_suspended"

// CodeTenantDeleted is CodeTenantSuspended for a deleted tenant.
const CodeTenantDeleted = "tenant_deleted"

// CodeOperatorOnly refuses every API key on a route only the operator's CLI
// may call (over mTLS, not through the edge).
const CodeOperatorOnly = "operator_only"

func (a *Authenticator) writeError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrMalformedKey):
		msg := "invalid API key: not a Rampart key (expected rk_ followed by 61 base62 characters)"
		if errors.Is(err, apikey.ErrChecksum) {
			msg = "invalid API key: checksum mismatch (the key was mistyped or truncated)"
		}
		httperr.WriteStatus(w, r, http.StatusUnauthorized, httperr.CodeInvalidAPIKey, msg)
	case errors.Is(err, ErrInvalidKey):
		httperr.WriteStatus(w, r, http.StatusUnauthorized, httperr.CodeInvalidAPIKey,
			"invalid API key: unknown, revoked or expired")
	case errors.Is(err, ErrTenantSuspended):
		httperr.WriteStatus(w, r, http.StatusForbidden, CodeTenantSuspended,
			"this API key's tenant is suspended by the platform operator: its keys are refused until it is resumed")
	case errors.Is(err, ErrTenantDeleted):
		httperr.WriteStatus(w, r, http.StatusForbidden, CodeTenantDeleted,
			"this API key's tenant is deleted: its keys are refused")
	case errors.Is(err, ErrThrottled):
		httperr.SetRetryAfter(w.Header(), 1)
		httperr.WriteStatus(w, r, http.StatusTooManyRequests, httperr.CodeRateLimitExceeded,
			"too many key verification attempts; retry later")
	default:
		a.log.ErrorContext(r.Context(), "key verification failed",
			"error", err.Error())
		httperr.WriteStatus(w, r, http.StatusServiceUnavailable, httperr.CodeUnavailable,
			"cannot verify API keys right now; retry later")
	}
}

// canonicalPath reports whether p, which starts with '/', is what
// path.Clean leaves as it is, a trailing slash kept: no empty segment
// other than a trailing slash's, no "." or ".." segment. It is
// path.Clean's verdict without its work (~590 instructions per request,
// issue 15, ADR 0090); FuzzCanonicalPath holds the two equal.
func canonicalPath(p string) bool {
	start := 1
	for i := 1; i <= len(p); i++ {
		if i < len(p) && p[i] != '/' {
			continue
		}
		switch p[start:i] {
		case "":
			if i < len(p) {
				return false
			}
		case ".", "..":
			return false
		}
		start = i + 1
	}
	return true
}
