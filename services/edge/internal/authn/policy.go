package authn

import (
	"context"
	"net/http"
	"strings"

	"github.com/rampart-platform/rampart/pkg/permissions"
	"github.com/rampart-platform/rampart/pkg/principal"
	"github.com/rampart-platform/rampart/services/edge/internal/reqstate"
)

// Policy is the edge's view of the permission table (pkg/permissions):
// which route a request is, whether it needs a key, the scopes and minimum
// role it requires. A request that matches no route is still authenticated
// (default deny: nobody learns which paths exist without a key) and then
// answered 404, or 405 when the path exists for another method.
type Policy struct {
	table *permissions.Table
}

// NewPolicy returns the policy of table (nil: permissions.Default()).
func NewPolicy(table *permissions.Table) *Policy {
	if table == nil {
		table = permissions.Default()
	}
	return &Policy{table: table}
}

// Match returns the route of a request (nil when none matches) and whether
// the path is served for some method.
func (p *Policy) Match(method, path string) (route *permissions.Route, pathKnown bool) {
	return p.table.Match(method, path)
}

// RouteFromContext returns the route the router matched for the request
// (reqstate), so the layers after the router's (body limits,
// authentication, rate limiting) match once; ok is false when none was
// stored.
func RouteFromContext(ctx context.Context) (route *permissions.Route, pathKnown, ok bool) {
	if st := reqstate.From(ctx); st != nil && st.RouteMatched {
		return st.Route, st.RouteKnown, true
	}
	return nil, false, false
}

// routeOf is the request's route from the context, else matched now.
func (p *Policy) routeOf(r *http.Request) (*permissions.Route, bool) {
	if route, known, ok := RouteFromContext(r.Context()); ok {
		return route, known
	}
	return p.Match(r.Method, r.URL.Path)
}

// forwarding is what a request on route carries to the route's service:
// its own assertion and the delegations for the services it forwards to,
// narrowed to the RPC's where its row narrows them (ADR 0105 §3), both
// resolved when the table was built (permissions.Route.CallDelegates: no
// look-up per request, issue 15, ADR 0107). route comes from the table
// (Resolved): the middleware refuses any other (ADR 0124).
func forwarding(id Identity, route *permissions.Route) principal.Forwarding {
	f := id.For(route.Service())
	if d, ok := route.CallDelegates(); ok {
		f = f.Only(d)
	}
	return f
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
