package router

import (
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/rampart-platform/rampart/pkg/permissions"
	"github.com/rampart-platform/rampart/services/edge/internal/authn"
	"github.com/rampart-platform/rampart/services/edge/internal/httperr"
	"github.com/rampart-platform/rampart/services/edge/internal/middleware"
	"github.com/rampart-platform/rampart/services/edge/internal/ratelimit"
	"github.com/rampart-platform/rampart/services/edge/internal/reqstate"
)

// Options are the parts of the public handler.
type Options struct {
	Log         *slog.Logger
	HTTPMetrics *middleware.Metrics
	// AccessLogSampling thins out the access log lines of successful
	// requests (nil: every line).
	AccessLogSampling *middleware.Sampling
	Authn             *authn.Authenticator
	// Policy is the route table (nil: pkg/permissions' table). Body limits,
	// deadlines, authentication and rate-limit classes all read it.
	Policy        *authn.Policy
	Limiter       ratelimit.Limiter
	LimitDefaults ratelimit.Defaults
	LimitMetrics  *ratelimit.Metrics
	// Gateway serves /v1/ (the grpc-gateway mux).
	Gateway http.Handler
	// Direct are handlers the Gateway mux also serves, for one method and
	// one literal path each (the OpenAI routes: openai.Literal), answered
	// without the two muxes in front of them. Only used with a Gateway.
	Direct map[Literal]http.Handler
	// GatewayFirst reports the requests Gateway gets without the ServeMux
	// in front of it (gateway.PlainSecretRead: the plain secret read).
	// It must report only requests the ServeMux would hand to Gateway
	// unchanged: a method other than CONNECT and a clean path under /v1/
	// with no escaped form. Only used with a Gateway.
	GatewayFirst func(*http.Request) bool
	// Slack relays /slack/ to the slack adapter (nil: 503).
	Slack http.Handler
	// Ready reports readiness for /readyz (nil error: ready).
	Ready   func() error
	OpenAPI []byte
	// CORSOrigins is the CORS allow-list; empty turns CORS off.
	CORSOrigins    []string
	TrustedProxies []netip.Prefix
	// TLS makes responses carry Strict-Transport-Security.
	TLS bool
	// RequestTimeout is the write deadline of ordinary routes,
	// StreamTimeout that of streaming ones (chat completions).
	RequestTimeout time.Duration
	StreamTimeout  time.Duration
}

// New returns the public handler. The middleware chain, outermost first:
// security headers → request id → route match (the permission table) →
// client address → access log + metrics → panic recovery → body limits and
// write deadline → CORS → header guard (ambiguous credentials, reserved
// headers) → authentication and route authorization → rate limit (by the
// route's class) → routes.
func New(o Options) http.Handler {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Policy == nil {
		o.Policy = authn.NewPolicy(nil)
	}
	mux := http.NewServeMux()
	for _, rt := range ownRoutes(o) {
		mux.Handle(rt.pattern, rt.h)
	}
	if o.Gateway != nil {
		mux.Handle("/v1/", streamErrors(o.Log, o.Gateway))
		// keyvault's observability endpoint (metadata only; docs/security.md).
		mux.Handle("/api/observability/", o.Gateway)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		httperr.WriteStatus(w, r, http.StatusNotFound, httperr.CodeNotFound, "no route for "+r.Method+" "+r.URL.Path)
	})

	var h http.Handler = mux
	if o.Gateway != nil && (len(o.Direct) > 0 || o.GatewayFirst != nil) {
		h = direct(o.Log, o.Direct, o.GatewayFirst, o.Gateway, mux)
	}
	if o.Limiter != nil {
		h = byRateClass(ratelimit.Middleware(o.Limiter, o.LimitDefaults, o.LimitMetrics, h), h)
	}
	if o.Authn != nil {
		h = o.Authn.Middleware(o.Policy, h)
	}
	h = middleware.HeaderGuard(h)
	h = middleware.CORS(o.CORSOrigins, h)
	h = middleware.Limits(limitsFor(o.RequestTimeout, o.StreamTimeout), h)
	h = middleware.Recover(o.Log, h)
	h = middleware.AccessLog(o.Log, o.HTTPMetrics, Classify, o.AccessLogSampling, h)
	// Outside the access log, so the log line reads the address it computed
	// (a context value set further in would be invisible to it).
	h = middleware.ClientAddr(o.TrustedProxies, h)
	h = matchRoute(o.Policy, h)
	h = middleware.RequestID(h)
	h = middleware.SecurityHeaders(o.TLS, h)
	return h
}

// ownRoute is a route the edge's ServeMux answers itself, not through the
// gateway; like every route the edge serves it has a row in the table
// (TestEveryServedRouteHasARow).
type ownRoute struct {
	pattern string // the ServeMux pattern
	h       http.Handler
}

// ownRoutes are the health, readiness, OpenAPI and Slack relay routes.
func ownRoutes(o Options) []ownRoute {
	slack := o.Slack
	if slack == nil {
		slack = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			httperr.WriteStatus(w, r, http.StatusServiceUnavailable, httperr.CodeUnavailable, "slack adapter not configured")
		})
	}
	return []ownRoute{
		{"GET /healthz", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusOK, `{"status":"ok"}`)
		})},
		{"GET /readyz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if o.Ready != nil {
				if err := o.Ready(); err != nil {
					httperr.WriteStatus(w, r, http.StatusServiceUnavailable, httperr.CodeUnavailable, "not ready: "+err.Error())
					return
				}
			}
			writeJSON(w, http.StatusOK, `{"status":"ready"}`)
		})},
		{"GET /openapi.json", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(o.OpenAPI)
		})},
		{"/slack/", slack},
	}
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body + "\n"))
}

// matchRoute looks the request up in the permission table once and keeps
// the result in the context for the layers below.
func matchRoute(p *authn.Policy, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route, known := p.Match(r.Method, r.URL.Path)
		st, r := reqstate.Ensure(r)
		st.Route, st.RouteKnown, st.RouteMatched = route, known, true
		next.ServeHTTP(w, r)
	})
}

// Literal is one method and one exact path.
type Literal struct{ Method, Path string }

// direct answers the literal routes of routes without the ServeMux and the
// gateway mux (which would call the same handler for them, through
// streamErrors as every /v1/ route): both muxes together took ~4 % of the
// edge's CPU and ~6 % of its allocations per chat completion (issue 15).
// A path net/url kept an escaped form of (RawPath set: "%2F" inside a
// segment, say) goes through the muxes, which match it their own way.
// Requests first reports (nil: none) go to gateway as the ServeMux's "/v1/"
// pattern sends them, without its path cleaning, escaping and tree match
// (~5.5k instructions of a REST secret read's ~198k, ADR 0109).
func direct(log *slog.Logger, routes map[Literal]http.Handler, first func(*http.Request) bool, gateway, mux http.Handler) http.Handler {
	wrapped := make(map[Literal]http.Handler, len(routes))
	for l, h := range routes {
		wrapped[l] = streamErrors(log, h)
	}
	gw := streamErrors(log, gateway)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawPath == "" {
			if h, ok := wrapped[Literal{r.Method, r.URL.Path}]; ok {
				h.ServeHTTP(w, r)
				return
			}
			if first != nil && first(r) {
				gw.ServeHTTP(w, r)
				return
			}
		}
		mux.ServeHTTP(w, r)
	})
}

// routeOf is the route matched by matchRoute (nil: none, or no matchRoute).
func routeOf(r *http.Request) *permissions.Route {
	route, _, _ := authn.RouteFromContext(r.Context())
	return route
}

// byRateClass sends routes of a throttled class through limited and the
// others (public routes, class none) straight to next.
func byRateClass(limited, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if route := routeOf(r); route != nil && route.Rate != permissions.RateNone {
			limited.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// limitsFor gives each route its body limit and write deadline from the
// table; an unmatched request (refused later) gets the smallest limit.
func limitsFor(request, stream time.Duration) func(*http.Request) middleware.RouteLimits {
	if request <= 0 {
		request = 60 * time.Second
	}
	if stream <= 0 {
		stream = 15 * time.Minute
	}
	return func(r *http.Request) middleware.RouteLimits {
		route := routeOf(r)
		if route == nil {
			return middleware.RouteLimits{MaxBody: permissions.BodyAdmin, WriteDeadline: request}
		}
		deadline := request
		if route.Stream {
			deadline = stream
		}
		return middleware.RouteLimits{MaxBody: route.MaxBody, WriteDeadline: deadline}
	}
}

// Classify maps a request to a bounded route label for metrics and logs:
// the family of its table route ("/v1/keys" for every key route), the exact
// path of operational routes, "other" when no route matches.
func Classify(r *http.Request) string {
	route := routeOf(r)
	if route == nil {
		return "other"
	}
	return family(route.Pattern)
}

// family is a pattern's label: "/slack" for the relay, the pattern itself
// outside /v1/, else "/v1/" + its first segment (without a custom verb).
func family(pattern string) string {
	if strings.HasPrefix(pattern, "/slack/") {
		return "/slack"
	}
	rest, ok := strings.CutPrefix(pattern, "/v1/")
	if !ok {
		return pattern
	}
	// A prefix of the pattern itself: "/v1/"+rest allocated a string on
	// every request (issue 15).
	if i := strings.IndexAny(rest, "/:"); i >= 0 {
		return pattern[:len("/v1/")+i]
	}
	return pattern
}
