package permissions

import (
	"slices"
	"strings"
)

// Role is a member's role, ordered: a higher role may do everything a lower
// one may.
type Role int

// Roles, lowest first. RoleNone is "no role requirement" (public routes and
// service-to-service RPCs).
const (
	RoleNone Role = iota
	RoleViewer
	RoleMember
	RoleAdmin
	RoleOwner
)

// String is the role's name in principals ("owner", "admin", ...).
func (r Role) String() string {
	switch r {
	case RoleViewer:
		return "viewer"
	case RoleMember:
		return "member"
	case RoleAdmin:
		return "admin"
	case RoleOwner:
		return "owner"
	default:
		return "none"
	}
}

// Roles are the member roles, lowest first.
var Roles = []Role{RoleViewer, RoleMember, RoleAdmin, RoleOwner}

// RoleFromName parses a principal's role name; unknown names are RoleNone.
func RoleFromName(s string) Role {
	for _, r := range Roles {
		if r.String() == s {
			return r
		}
	}
	return RoleNone
}

// HighestRole is the highest of a principal's role names.
func HighestRole(names []string) Role {
	best := RoleNone
	for _, n := range names {
		best = max(best, RoleFromName(n))
	}
	return best
}

// Scopes known to Rampart. ScopeAdmin holds every other scope.
const (
	ScopeChatWrite       = "chat:write"
	ScopeEmbeddingsWrite = "embeddings:write"
	ScopeIngestWrite     = "ingest:write"
	ScopeIngestRead      = "ingest:read"
	ScopeSecretsRead     = "secrets:read"
	ScopeSecretsWrite    = "secrets:write"
	ScopeUsageRead       = "usage:read"
	ScopeKeysWrite       = "keys:write"
	ScopeAdmin           = "admin"
)

// AllScopes lists every scope the table uses, ScopeAdmin last.
var AllScopes = []string{ScopeChatWrite, ScopeEmbeddingsWrite, ScopeIngestWrite, ScopeIngestRead,
	ScopeSecretsRead, ScopeSecretsWrite, ScopeUsageRead, ScopeKeysWrite, ScopeAdmin}

// RoleCeiling is the set of scopes a key of a subject with role r may hold
// (auth refuses a key whose scopes exceed it). A route whose scopes are
// outside a role's ceiling is out of reach of that role whatever its key.
func RoleCeiling(r Role) []string {
	switch r {
	case RoleOwner, RoleAdmin:
		return AllScopes
	case RoleMember:
		return []string{ScopeChatWrite, ScopeEmbeddingsWrite, ScopeIngestWrite, ScopeIngestRead,
			ScopeSecretsRead, ScopeUsageRead, ScopeKeysWrite}
	case RoleViewer:
		return []string{ScopeIngestRead, ScopeUsageRead}
	default:
		return nil
	}
}

// HasScope reports whether scopes grant scope ("admin" grants all).
func HasScope(scopes []string, scope string) bool {
	return slices.Contains(scopes, scope) || slices.Contains(scopes, ScopeAdmin)
}

// Binding says whose data a route acts on.
type Binding string

// Bindings.
const (
	// BindTenant: the tenant comes only from the verified principal; a
	// resource of another tenant answers 404, never its data.
	BindTenant Binding = "tenant"
	// BindPlatform: only the platform operator (an owner of the platform
	// tenant holding the admin scope, or the CLI over mTLS) may call it;
	// anyone else gets 403 (404 for another tenant's resource).
	BindPlatform Binding = "platform"
	// BindOperator: only the platform operator's own mTLS identity (the
	// rampart CLI) may call it; every API key is refused with 403, the
	// platform tenant's included (deployment configuration, recovery).
	BindOperator Binding = "operator"
	// BindNone: no tenant (public routes, key verification, health).
	BindNone Binding = "none"
)

// RateClass says how the edge throttles a route.
type RateClass string

// Rate-limit classes.
const (
	// RateNone: not throttled by the edge (health, OpenAPI, Slack, whose
	// adapter authenticates each request by signature).
	RateNone RateClass = "none"
	// RateRequests: requests per minute per key and per tenant.
	RateRequests RateClass = "requests"
	// RateModel: requests per minute at the edge, plus tokens per minute
	// and the monthly token budget in inference.
	RateModel RateClass = "model"
)

// Body limits of edge routes.
const (
	BodyAdmin  int64 = 1 << 20 // REST admin routes
	BodyModel  int64 = 4 << 20 // chat completions and embeddings
	BodyUpload int64 = 16 << 20
	// BodyUpload fits ingestion's 10 MiB document limit once base64 and
	// JSON wrap it (document uploads only).
)

// Route is one REST route of the edge.
type Route struct {
	// Method is the HTTP method; Pattern the path template in
	// google.api.http syntax ("/v1/keys/{key_id}:rotate",
	// "/v1/secrets/{name=**}"), or a prefix ending in "/*" for edge routes
	// that own a whole subtree ("/slack/*", any method when Method is "").
	Method  string
	Pattern string
	// RPC is the full gRPC method the route reaches ("" for routes the edge
	// answers itself or relays as HTTP).
	RPC string
	// Public routes need no API key.
	Public bool
	// Scopes the key must hold, all of them ("admin" holds every scope).
	// Empty on a non-public route: any valid key of the tenant.
	Scopes []string
	// MinRole is the lowest role of the key's subject that may call it.
	MinRole Role
	Tenant  Binding
	Rate    RateClass
	// MaxBody is the request body limit in bytes.
	MaxBody int64
	// Stream routes get the stream write deadline instead of the request one.
	Stream bool
	// Note explains a rule that the columns alone do not (shown in the docs).
	Note string

	// What New resolves from RPC once, so that a request does not look it
	// up (Resolved, Service, CallDelegates).
	resolved  bool
	service   string
	delegates []string
	narrowed  bool
}

// Resolved reports whether the route comes from a Table (New), whose
// Service and CallDelegates it then answers without a look-up; a Route
// written as a literal has nothing resolved.
func (r *Route) Resolved() bool { return r.resolved }

// Service is ServiceOf(r.RPC) as New resolved it ("" for a route of no RPC
// or one not from a Table: see Resolved).
func (r *Route) Service() string { return r.service }

// CallDelegates is the building Table's CallDelegates(r.RPC), resolved
// once by New: the edge reads it on every authenticated request (issue
// 15, ADR 0107). On a route not from a Table (Resolved false) it reports
// nothing; the edge refuses such a route (ADR 0124).
func (r *Route) CallDelegates() (delegates []string, narrowed bool) {
	return r.delegates, r.narrowed
}

// Key is the route's "METHOD pattern" name, e.g. "POST /v1/keys".
func (r *Route) Key() string {
	m := r.Method
	if m == "" {
		m = "*"
	}
	return m + " " + r.Pattern
}

// Allows reports whether a key with scopes held by a subject of role is
// admitted by the route's scope and role rules (tenant binding is the
// backend's to check).
func (r *Route) Allows(role Role, scopes []string) bool {
	if r.Public {
		return true
	}
	if role < r.MinRole {
		return false
	}
	for _, s := range r.Scopes {
		if !HasScope(scopes, s) {
			return false
		}
	}
	return true
}

// MissingScope returns the first required scope scopes lack, or "".
func (r *Route) MissingScope(scopes []string) string {
	for _, s := range r.Scopes {
		if !HasScope(scopes, s) {
			return s
		}
	}
	return ""
}

// ScopesText is the route's scopes for people ("any key", "public").
func (r *Route) ScopesText() string {
	switch {
	case r.Public:
		return "public"
	case len(r.Scopes) == 0:
		return "any key"
	default:
		return strings.Join(r.Scopes, " + ")
	}
}

// RPC is one gRPC method of a Rampart service.
type RPC struct {
	// Name is the full method, "/rampart.auth.v1.KeyService/CreateKey".
	Name string
	// Callers are the service names (SPIFFE ids spiffe://rampart.local/svc/<name>)
	// allowed to call it; the service's authz allow-list must say the same.
	Callers []string
	// Principal: the call carries the signed principal assertion of the
	// API key it acts for (false: service-to-service, authorized by the
	// caller's identity alone).
	Principal bool
	// Tenant binding of internal RPCs (those with a REST route take the
	// route's).
	Tenant Binding
	// Note explains the rule.
	Note string
	// Forwards, when not nil, are the services the callee forwards the
	// principal to on this call, narrowing its service's list (forwards in
	// audience.go): a call to it carries delegations for these and for
	// what they forward to, nothing else (CallDelegates, ADR 0105 §3).
	// Nil: its service's list.
	Forwards []string
}

// Service returns the "/pkg.Service" part of the name.
func (r *RPC) Service() string {
	i := strings.LastIndexByte(r.Name, '/')
	if i <= 0 {
		return r.Name
	}
	return r.Name[:i]
}

// Path fills the route's template with params (by variable name; a missing
// one becomes "x"). A subtree route ("/slack/*") gets "events".
func (r *Route) Path(params map[string]string) string {
	if prefix, ok := strings.CutSuffix(r.Pattern, "/*"); ok {
		return prefix + "/events"
	}
	var b strings.Builder
	rest := r.Pattern
	for {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			b.WriteString(rest)
			return b.String()
		}
		j := strings.IndexByte(rest[i:], '}') + i
		b.WriteString(rest[:i])
		name, _, _ := strings.Cut(rest[i+1:j], "=")
		v, ok := params[name]
		if !ok {
			v = "x"
		}
		b.WriteString(v)
		rest = rest[j+1:]
	}
}

// Params are the template's variable names, in order.
func (r *Route) Params() []string {
	var out []string
	rest := r.Pattern
	for {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(rest[i:], '}') + i
		name, _, _ := strings.Cut(rest[i+1:j], "=")
		out = append(out, name)
		rest = rest[j+1:]
	}
}

// SlackAdapterKeyScopes are the scopes of the tenant key the Slack adapter
// creates when a tenant admin installs it, on the admin's principal; auth
// lets the adapter's identity create no other key (authorization review 7).
var SlackAdapterKeyScopes = []string{ScopeChatWrite, ScopeIngestRead}
