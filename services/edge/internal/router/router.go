package router

import (
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/rampart-platform/rampart/services/edge/internal/authn"
	"github.com/rampart-platform/rampart/services/edge/internal/httperr"
	"github.com/rampart-platform/rampart/services/edge/internal/middleware"
	"github.com/rampart-platform/rampart/services/edge/internal/ratelimit"
)

// Body size limits.
const (
	MaxAdminBody = 1 << 20 // 1 MiB: REST admin routes
	MaxModelBody = 4 << 20 // 4 MiB: chat completions and embeddings
	// MaxUploadBody fits ingestion's 10 MiB document limit once base64 and
	// JSON wrap it (document uploads only).
	MaxUploadBody = 16 << 20
)

// Options are the parts of the public handler.
type Options struct {
	Log           *slog.Logger
	HTTPMetrics   *middleware.Metrics
	Authn         *authn.Authenticator
	Policy        *authn.Policy
	Limiter       ratelimit.Limiter
	LimitDefaults ratelimit.Defaults
	LimitMetrics  *ratelimit.Metrics
	// Gateway serves /v1/ (the grpc-gateway mux).
	Gateway http.Handler
	// Mount registers extra handlers (the OpenAI-compatible routes) on the
	// mux before the gateway catch-all; more specific patterns win.
	Mount func(mux *http.ServeMux)
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
// security headers → request id → access log + metrics → panic recovery →
// client address → body limits and write deadline → CORS → header guard
// (ambiguous credentials, reserved headers) → authentication and route
// authorization → rate limit → routes.
func New(o Options) http.Handler {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Policy == nil {
		o.Policy = authn.NewPolicy(authn.DefaultRules()...)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, `{"status":"ok"}`)
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if o.Ready != nil {
			if err := o.Ready(); err != nil {
				httperr.WriteStatus(w, r, http.StatusServiceUnavailable, httperr.CodeUnavailable, "not ready: "+err.Error())
				return
			}
		}
		writeJSON(w, http.StatusOK, `{"status":"ready"}`)
	})
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(o.OpenAPI)
	})
	if o.Slack != nil {
		mux.Handle("/slack/", o.Slack)
	} else {
		mux.HandleFunc("/slack/", func(w http.ResponseWriter, r *http.Request) {
			httperr.WriteStatus(w, r, http.StatusServiceUnavailable, httperr.CodeUnavailable, "slack adapter not configured")
		})
	}
	if o.Mount != nil {
		o.Mount(mux)
	}
	if o.Gateway != nil {
		mux.Handle("/v1/", o.Gateway)
		// ADR-0016's observability endpoint (keyvault, metadata only).
		mux.Handle("/api/observability/", o.Gateway)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		httperr.WriteStatus(w, r, http.StatusNotFound, httperr.CodeNotFound, "no route for "+r.Method+" "+r.URL.Path)
	})

	var h http.Handler = mux
	if o.Limiter != nil {
		h = ratelimit.Middleware(o.Limiter, o.LimitDefaults, o.LimitMetrics, h)
	}
	if o.Authn != nil {
		h = o.Authn.Middleware(o.Policy, h)
	}
	h = middleware.HeaderGuard(h)
	h = middleware.CORS(o.CORSOrigins, h)
	h = middleware.Limits(limitsFor(o.RequestTimeout, o.StreamTimeout), h)
	h = middleware.ClientAddr(o.TrustedProxies, h)
	h = middleware.Recover(o.Log, h)
	h = middleware.AccessLog(o.Log, o.HTTPMetrics, Classify, h)
	h = middleware.RequestID(h)
	h = middleware.SecurityHeaders(o.TLS, h)
	return h
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body + "\n"))
}

func limitsFor(request, stream time.Duration) func(*http.Request) middleware.RouteLimits {
	if request <= 0 {
		request = 60 * time.Second
	}
	if stream <= 0 {
		stream = 15 * time.Minute
	}
	return func(r *http.Request) middleware.RouteLimits {
		p := r.URL.Path
		switch {
		case authn.PathHasPrefix(p, "/v1/chat/completions"), authn.PathHasPrefix(p, "/v1/completions"):
			return middleware.RouteLimits{MaxBody: MaxModelBody, WriteDeadline: stream}
		case authn.PathHasPrefix(p, "/v1/embeddings"):
			return middleware.RouteLimits{MaxBody: MaxModelBody, WriteDeadline: request}
		case r.Method == http.MethodPost && isDocumentUpload(p):
			return middleware.RouteLimits{MaxBody: MaxUploadBody, WriteDeadline: request}
		default:
			return middleware.RouteLimits{MaxBody: MaxAdminBody, WriteDeadline: request}
		}
	}
}

// isDocumentUpload matches POST /v1/collections/{collection}/documents.
func isDocumentUpload(p string) bool {
	rest, ok := strings.CutPrefix(p, "/v1/collections/")
	if !ok {
		return false
	}
	name, tail, ok := strings.Cut(rest, "/")
	return ok && name != "" && tail == "documents"
}

// routeClasses are the metric labels of known route families.
var routeClasses = map[string]bool{
	"chat": true, "completions": true, "embeddings": true, "models": true,
	"whoami": true, "keys": true, "tenants": true, "members": true, "audit": true,
	"secrets": true, "usage": true, "collections": true, "documents": true,
	"ingest": true, "search": true,
}

// Classify maps a request to a bounded route label for metrics and logs.
func Classify(r *http.Request) string {
	p := r.URL.Path
	switch p {
	case "/healthz", "/readyz", "/openapi.json", "/api/observability/secrets":
		return p
	}
	if strings.HasPrefix(p, "/slack/") {
		return "/slack"
	}
	if rest, ok := strings.CutPrefix(p, "/v1/"); ok {
		seg := rest
		if i := strings.IndexAny(rest, "/:"); i >= 0 {
			seg = rest[:i]
		}
		if routeClasses[seg] {
			return "/v1/" + seg
		}
	}
	return "other"
}
