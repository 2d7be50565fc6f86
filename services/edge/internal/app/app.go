package app

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"google.golang.org/grpc"

	"github.com/rampart-platform/rampart/gen"
	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	pkgbackend "github.com/rampart-platform/rampart/pkg/backend"
	"github.com/rampart-platform/rampart/pkg/listen"
	"github.com/rampart-platform/rampart/pkg/serve"
	"github.com/rampart-platform/rampart/pkg/telemetry"
	"github.com/rampart-platform/rampart/services/edge/internal/admin"
	"github.com/rampart-platform/rampart/services/edge/internal/authn"
	"github.com/rampart-platform/rampart/services/edge/internal/backend"
	"github.com/rampart-platform/rampart/services/edge/internal/config"
	"github.com/rampart-platform/rampart/services/edge/internal/gateway"
	"github.com/rampart-platform/rampart/services/edge/internal/middleware"
	"github.com/rampart-platform/rampart/services/edge/internal/openai"
	"github.com/rampart-platform/rampart/services/edge/internal/ratelimit"
	"github.com/rampart-platform/rampart/services/edge/internal/router"
	"github.com/rampart-platform/rampart/services/edge/internal/slackrelay"
	"github.com/rampart-platform/rampart/services/edge/internal/wirecheck"
)

// GCPercent is the edge's default GOGC (the operator's GOGC wins): four
// times the request path's 200. The edge's live heap is ~3 MB and a chat
// completion allocates ~11 KB, so its collector's cost per request follows
// how often it runs: 400 (ADR 0066) collected half as often as 200 for
// ~8 % fewer instructions per completion in the real process; 800 halves
// it again, for another ~6 % (ADR 0090: 208.9k/206.2k -> 194.4k/194.8k
// in two alternated callgrind pairs of the real stack) and a heap goal of
// ~27 MB under load. Idle RSS is pkg/memtrim's (it returns the heap after
// a busy period), and GOMEMLIMIT, which the manifests set from the
// container's limit, still bounds it.
const GCPercent = 4 * serve.RequestPathGCPercent

// Spec is the edge's pkg/backend spec.
var Spec = pkgbackend.Spec{Name: "edge", GCPercent: GCPercent}

// Run is the whole edge process (`edge [flags]`, `edge healthcheck`): it
// returns when ctx ends, after the shutdown, or when a listener or the
// revocation watch fails.
func Run(ctx context.Context, args []string) error {
	cfg := config.Defaults()
	return pkgbackend.RunHTTP(ctx, Spec, &cfg, args, func(ctx context.Context, env *pkgbackend.Env) error {
		return New(ctx, cfg, env, nil)
	})
}

// Listeners lets tests pass pre-bound listeners (nil: listen on cfg).
type Listeners struct {
	Public, Admin net.Listener
	Ready         chan<- string // receives the public address once registered
}

// New builds the edge on env: the backends dialled, the handler assembled,
// the listeners opened, and everything registered with env's lifecycle.
func New(ctx context.Context, cfg config.Config, env *pkgbackend.Env, lis *Listeners) error {
	backends, err := dialBackends(ctx, cfg, env)
	if err != nil {
		return err
	}
	env.OnShutdown(func(context.Context) error { return backends.Close() })
	authConn := backends.Conn("auth")
	authenticator, err := authn.New(authn.Options{
		Client:     authv1.NewAuthServiceClient(authConn),
		TTL:        cfg.KeyCacheTTL,
		MaxEntries: cfg.KeyCacheSize,
		Logger:     env.Log,
		Metrics:    authn.NewMetrics(env.Registry),
	})
	if err != nil {
		return err
	}
	limiter, slots, closeLimiter, err := newLimiter(cfg, env.Log)
	if err != nil {
		return err
	}
	env.OnShutdown(func(context.Context) error { closeLimiter(); return nil })
	readiness := admin.NewReadiness(backend.NewProber(authConn, time.Second).Check)
	handler, err := newHandler(ctx, cfg, env, handlerDeps{backends: backends, authn: authenticator, limiter: limiter, slots: slots, readiness: readiness})
	if err != nil {
		return err
	}
	public, adminSrv, err := newServers(ctx, cfg, env.Log, handler, admin.Handler(env.Registry, readiness, cfg.Pprof))
	if err != nil {
		return err
	}
	if lis, err = openListeners(cfg, lis); err != nil {
		return err
	}

	env.OnDrain(readiness.SetDraining)
	env.Go("revocation watch", authenticator.Watch)
	env.ServeHTTP("public listener", public, checkedListener(lis.Public, public, cfg))
	env.ServeHTTP("admin listener", adminSrv, lis.Admin)
	env.Log.Info("edge serving", slog.String("http_addr", lis.Public.Addr().String()),
		slog.String("admin_addr", lis.Admin.Addr().String()), slog.Bool("tls", cfg.TLSCert != ""),
		slog.String("auth_addr", cfg.AuthAddr), slog.Bool("redis_rate_limit", cfg.RedisEnabled()))
	if lis.Ready != nil {
		lis.Ready <- lis.Public.Addr().String()
	}
	return nil
}

// dialBackends opens the lazy connections to auth and every enabled
// backend through the edge's pkg/backend Dialer (request id and, with
// RAMPART_OTEL_EXPORTER set, the trace context, like every service's),
// with the edge's client metrics.
func dialBackends(ctx context.Context, cfg config.Config, env *pkgbackend.Env) (*backend.Set, error) {
	clientMetrics, err := telemetry.NewClientMetrics(env.Registry)
	if err != nil {
		return nil, err
	}
	targets := []backend.Target{{Name: "auth", Addr: cfg.AuthAddr}}
	for name, addr := range map[string]string{
		"keyvault": cfg.KeyvaultAddr, "inference": cfg.InferenceAddr,
		"ingestion": cfg.IngestionAddr, "slackadapter": cfg.SlackAdapterAddr,
	} {
		if config.Enabled(addr) {
			targets = append(targets, backend.Target{Name: name, Addr: addr})
		}
	}
	dialer := env.Dialer()
	dialer.Options = []grpc.DialOption{
		grpc.WithChainUnaryInterceptor(clientMetrics.UnaryClientInterceptor()),
		grpc.WithChainStreamInterceptor(clientMetrics.StreamClientInterceptor()),
	}
	return backend.Dial(ctx, dialer, targets)
}

// handlerDeps are the parts of the public handler built before it.
type handlerDeps struct {
	backends  *backend.Set
	authn     *authn.Authenticator
	limiter   ratelimit.Limiter
	slots     ratelimit.Slots
	readiness *admin.Readiness
}

// newHandler assembles the public handler: the REST gateway and the
// OpenAI-compatible routes on one mux, behind the router's authentication,
// rate limits and body limits.
func newHandler(ctx context.Context, cfg config.Config, env *pkgbackend.Env, d handlerDeps) (http.Handler, error) {
	log, reg := env.Log, env.Registry
	gw := gateway.NewMux(log)
	if err := gateway.Register(ctx, gw, gateway.Conns{
		Auth:         d.backends.Conn("auth"),
		Keyvault:     d.backends.Conn("keyvault"),
		Inference:    d.backends.Conn("inference"),
		Ingestion:    d.backends.Conn("ingestion"),
		SlackAdapter: d.backends.Conn("slackadapter"),
	}); err != nil {
		return nil, err
	}
	limitMetrics := ratelimit.NewMetrics(reg)
	// OpenAI-compatible routes (internal/openai) live on the same gateway
	// mux; the router answers their literal paths directly.
	oai := openai.New(openai.Options{
		Inference: gateway.OrUnavailable(d.backends.Conn("inference"), "inference"), Log: log,
		Streams: d.slots, MaxStreamsPerKey: cfg.MaxStreamsPerKey, MaxStreamsPerTenant: cfg.MaxStreamsPerTenant, LimitMetrics: limitMetrics,
	})
	if err := openai.Register(gw, oai); err != nil {
		return nil, fmt.Errorf("register OpenAI routes: %w", err)
	}
	trusted, err := cfg.TrustedProxyPrefixes()
	if err != nil {
		return nil, err
	}
	sampling, err := cfg.AccessLogSampling()
	if err != nil {
		return nil, err
	}
	return router.New(router.Options{
		Log:               log,
		HTTPMetrics:       middleware.NewMetrics(reg),
		AccessLogSampling: &sampling,
		Authn:             d.authn,
		Limiter:           d.limiter,
		LimitDefaults:     ratelimit.Defaults{KeyRPM: cfg.DefaultKeyRPM, TenantRPM: cfg.DefaultTenantRPM},
		LimitMetrics:      limitMetrics,
		Gateway:           gateway.SecretReads(log, gw, d.backends.Conn("keyvault")),
		Direct:            openai.Literal(oai),
		GatewayFirst:      gateway.PlainSecretRead,
		Slack:             slackHandler(d.backends.Conn("slackadapter")),
		Ready:             func() error { return d.readiness.Ready(ctx) },
		OpenAPI:           gen.OpenAPI, // served as committed (docs/api/openapi.json)
		CORSOrigins:       cfg.CORSOrigins,
		TrustedProxies:    trusted,
		TLS:               cfg.TLSCert != "",
		RequestTimeout:    cfg.RequestTimeout,
		StreamTimeout:     cfg.StreamTimeout,
	}), nil
}

// newServers returns the public server (with TLS when a certificate is
// configured) and the admin server.
func newServers(ctx context.Context, cfg config.Config, log *slog.Logger, handler, adminHandler http.Handler) (*http.Server, *http.Server, error) {
	public := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, nil, fmt.Errorf("load TLS certificate: %w", err)
		}
		// NextProtos: Serve (not ServeTLS, see checkedListener) sets up
		// HTTP/2 only when the config offers h2.
		public.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}}
	}
	adminSrv := &http.Server{
		Handler:           adminHandler,
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return public, adminSrv, nil
}

// openListeners opens the public and admin listeners the tests did not
// pass (pkg/listen: an address, or fd:N for an inherited socket).
func openListeners(cfg config.Config, lis *Listeners) (*Listeners, error) {
	if lis == nil {
		lis = &Listeners{}
	}
	var err error
	if lis.Public == nil {
		if lis.Public, err = listen.TCP(cfg.HTTPAddr); err != nil {
			return nil, fmt.Errorf("listen %s: %w", cfg.HTTPAddr, err)
		}
	}
	if lis.Admin == nil {
		if lis.Admin, err = listen.TCP(cfg.AdminAddr); err != nil {
			_ = lis.Public.Close()
			return nil, fmt.Errorf("listen admin %s: %w", cfg.AdminAddr, err)
		}
	}
	return lis, nil
}

// checkedListener wraps the public listener: HTTP/1.1 connections are
// checked for the framing net/http accepts but a proxy may read
// differently (bare LF, obs-fold, TE with CL); with TLS the listener
// terminates it so the check sees plaintext, and hands HTTP/2 connections
// over unwrapped.
func checkedListener(l net.Listener, public *http.Server, cfg config.Config) net.Listener {
	if cfg.TLSCert != "" {
		return wirecheck.NewTLSListener(l, public.TLSConfig, cfg.ReadHeaderTimeout)
	}
	return wirecheck.NewListener(l)
}

// newLimiter returns the request rate limiter and the concurrent-stream
// slots: in memory, or shared through Redis when one is configured.
func newLimiter(cfg config.Config, log *slog.Logger) (ratelimit.Limiter, ratelimit.Slots, func(), error) {
	mem, memSlots := ratelimit.NewMemory(nil), ratelimit.NewMemorySlots()
	// On a cluster a request's buckets share its tenant's hash tag, so the
	// limiter's one script call per request works (ADR 0086).
	rdb, err := cfg.RedisClient()
	if err != nil || rdb == nil {
		return mem, memSlots, func() {}, err
	}
	return ratelimit.NewRedis(rdb, "rampart:edge:", mem, log),
		ratelimit.NewRedisSlots(rdb, "rampart:edge:streams:", 0, memSlots, log),
		func() { _ = rdb.Close() }, nil
}

// slackHandler relays /slack/ to the adapter, or nil (503) when it is off.
func slackHandler(conn grpc.ClientConnInterface) http.Handler {
	if conn == nil {
		return nil
	}
	return slackrelay.New(conn)
}
