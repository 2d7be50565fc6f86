package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	"github.com/rampart-platform/rampart/gen"
	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	pkgbackend "github.com/rampart-platform/rampart/pkg/backend"
	"github.com/rampart-platform/rampart/pkg/listen"
	"github.com/rampart-platform/rampart/pkg/logging"
	"github.com/rampart-platform/rampart/pkg/mtls"
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

// run is the whole edge process: it returns when ctx ends (after a graceful
// shutdown) or when a listener fails.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "healthcheck" {
		return healthcheck(ctx, args[1:])
	}
	cfg, err := config.Load(args)
	if errors.Is(err, flag.ErrHelp) {
		_, _ = fmt.Fprint(stdout, err.Error())
		return nil
	}
	if err != nil {
		return err
	}
	level, err := logging.ParseLevel(cfg.LogLevel)
	if err != nil {
		return err
	}
	// Log lines go out in batches (warnings and errors at once), flushed
	// when the edge stops: one write per batch instead of one per request.
	out := logging.NewBufferedWriter(stderr, logging.DefaultFlushDelay, logging.DefaultBufferSize)
	defer func() { _ = out.Flush() }()
	log := logging.New(out, level).With(slog.String("service", "edge"))
	return serve(ctx, cfg, log, nil)
}

// listeners lets tests pass pre-bound listeners (nil: listen on cfg).
type listeners struct {
	public, admin net.Listener
	ready         chan<- string // receives the public address once serving
}

// serve runs the edge until ctx ends: backends dialled, the handler
// assembled, the listeners opened, then the servers run with the shutdown
// order of shutdownOnDone.
func serve(ctx context.Context, cfg config.Config, log *slog.Logger, lis *listeners) error {
	reg := telemetry.NewRegistry()
	backends, closeBackends, err := dialBackends(ctx, cfg, log, reg)
	if err != nil {
		return err
	}
	defer closeBackends()
	authConn := backends.Conn("auth")
	authenticator, err := authn.New(authn.Options{
		Client:     authv1.NewAuthServiceClient(authConn),
		TTL:        cfg.KeyCacheTTL,
		MaxEntries: cfg.KeyCacheSize,
		Logger:     log,
		Metrics:    authn.NewMetrics(reg),
	})
	if err != nil {
		return err
	}
	limiter, slots, closeLimiter, err := newLimiter(cfg, log)
	if err != nil {
		return err
	}
	defer closeLimiter()
	readiness := admin.NewReadiness(backend.NewProber(authConn, time.Second).Check)
	handler, err := newHandler(ctx, cfg, log, reg, handlerDeps{backends: backends, authn: authenticator, limiter: limiter, slots: slots, readiness: readiness})
	if err != nil {
		return err
	}
	public, adminSrv, err := newServers(ctx, cfg, log, handler, admin.Handler(reg, readiness, cfg.Pprof))
	if err != nil {
		return err
	}
	if lis, err = openListeners(cfg, lis); err != nil {
		return err
	}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := authenticator.Watch(gctx); err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
		return nil
	})
	g.Go(func() error { return servePublic(public, lis.public, cfg) })
	g.Go(func() error {
		if err := adminSrv.Serve(lis.admin); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("admin listener: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		shutdown(ctx, cfg, log, readiness, public, adminSrv)
		return nil
	})
	log.Info("edge serving", slog.String("http_addr", lis.public.Addr().String()),
		slog.String("admin_addr", lis.admin.Addr().String()), slog.Bool("tls", cfg.TLSCert != ""),
		slog.String("auth_addr", cfg.AuthAddr), slog.Bool("redis_rate_limit", cfg.RedisURL != ""))
	if lis.ready != nil {
		lis.ready <- lis.public.Addr().String()
	}
	err = g.Wait()
	log.Info("edge stopped")
	return err
}

// dialBackends opens the lazy connections to auth and every enabled
// backend through pkg/backend's Dialer. Outgoing calls carry the request
// id and, with RAMPART_OTEL_EXPORTER set, the trace context, like every
// service's. The returned func closes the connections, then flushes spans.
func dialBackends(ctx context.Context, cfg config.Config, log *slog.Logger, reg *prometheus.Registry) (*backend.Set, func(), error) {
	clientMetrics, err := telemetry.NewClientMetrics(reg)
	if err != nil {
		return nil, nil, err
	}
	src, err := mtls.NewSource(mtls.FilesFor(cfg.CertDir, "edge"), mtls.WithLogger(log))
	if err != nil {
		return nil, nil, fmt.Errorf("load edge mTLS material from %s: %w", cfg.CertDir, err)
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
	tracing, err := telemetry.TracingFromEnv(os.Getenv, "edge")
	if err != nil {
		return nil, nil, err
	}
	backends, err := backend.Dial(ctx, &pkgbackend.Dialer{TLS: src, Tracing: tracing, Options: []grpc.DialOption{
		grpc.WithChainUnaryInterceptor(clientMetrics.UnaryClientInterceptor()),
		grpc.WithChainStreamInterceptor(clientMetrics.StreamClientInterceptor()),
	}}, targets)
	if err != nil {
		_ = tracing.Shutdown(context.WithoutCancel(ctx))
		return nil, nil, err
	}
	return backends, func() {
		_ = backends.Close()
		_ = tracing.Shutdown(context.WithoutCancel(ctx))
	}, nil
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
func newHandler(ctx context.Context, cfg config.Config, log *slog.Logger, reg *prometheus.Registry, d handlerDeps) (http.Handler, error) {
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
	// OpenAI-compatible routes (internal/openai) live on the same gateway mux.
	if err := openai.Register(gw, openai.New(openai.Options{
		Inference: gateway.OrUnavailable(d.backends.Conn("inference"), "inference"), Log: log,
		Streams: d.slots, MaxStreamsPerKey: cfg.MaxStreamsPerKey, LimitMetrics: limitMetrics,
	})); err != nil {
		return nil, fmt.Errorf("register OpenAI routes: %w", err)
	}
	trusted, err := cfg.TrustedProxyPrefixes()
	if err != nil {
		return nil, err
	}
	return router.New(router.Options{
		Log:            log,
		HTTPMetrics:    middleware.NewMetrics(reg),
		Authn:          d.authn,
		Limiter:        d.limiter,
		LimitDefaults:  ratelimit.Defaults{KeyRPM: cfg.DefaultKeyRPM, TenantRPM: cfg.DefaultTenantRPM},
		LimitMetrics:   limitMetrics,
		Gateway:        gw,
		Slack:          slackHandler(d.backends.Conn("slackadapter")),
		Ready:          func() error { return d.readiness.Ready(ctx) },
		OpenAPI:        gen.OpenAPI, // served as committed (docs/api/openapi.json)
		CORSOrigins:    cfg.CORSOrigins,
		TrustedProxies: trusted,
		TLS:            cfg.TLSCert != "",
		RequestTimeout: cfg.RequestTimeout,
		StreamTimeout:  cfg.StreamTimeout,
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
		// NextProtos: Serve (not ServeTLS, see servePublic) sets up HTTP/2
		// only when the config offers h2.
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
func openListeners(cfg config.Config, lis *listeners) (*listeners, error) {
	if lis == nil {
		lis = &listeners{}
	}
	var err error
	if lis.public == nil {
		if lis.public, err = listen.TCP(cfg.HTTPAddr); err != nil {
			return nil, fmt.Errorf("listen %s: %w", cfg.HTTPAddr, err)
		}
	}
	if lis.admin == nil {
		if lis.admin, err = listen.TCP(cfg.AdminAddr); err != nil {
			_ = lis.public.Close()
			return nil, fmt.Errorf("listen admin %s: %w", cfg.AdminAddr, err)
		}
	}
	return lis, nil
}

// servePublic serves the public listener until Shutdown. HTTP/1.1
// connections are checked for the framing net/http accepts but a proxy may
// read differently (bare LF, obs-fold, TE with CL); with TLS the listener
// terminates it so the check sees plaintext, and hands HTTP/2 connections
// over unwrapped.
func servePublic(public *http.Server, l net.Listener, cfg config.Config) error {
	var err error
	if cfg.TLSCert != "" {
		err = public.Serve(wirecheck.NewTLSListener(l, public.TLSConfig, cfg.ReadHeaderTimeout))
	} else {
		err = public.Serve(wirecheck.NewListener(l))
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("public listener: %w", err)
}

// shutdown stops the servers in order: readiness false → let load
// balancers notice (drain delay) → stop accepting and drain in-flight
// requests with a deadline → admin server.
func shutdown(ctx context.Context, cfg config.Config, log *slog.Logger, readiness *admin.Readiness, public, adminSrv *http.Server) {
	readiness.SetDraining()
	log.Info("shutting down: draining", slog.Int64("drain_delay_us", cfg.DrainDelay.Microseconds()))
	if cfg.DrainDelay > 0 {
		t := time.NewTimer(cfg.DrainDelay)
		<-t.C
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if err := public.Shutdown(sctx); err != nil {
		log.Warn("in-flight requests cut off at the shutdown deadline", slog.String("error", err.Error()))
		_ = public.Close()
	}
	_ = adminSrv.Shutdown(sctx)
}

// newLimiter returns the request rate limiter and the concurrent-stream
// slots: in memory, or shared through Redis when one is configured.
func newLimiter(cfg config.Config, log *slog.Logger) (ratelimit.Limiter, ratelimit.Slots, func(), error) {
	mem, memSlots := ratelimit.NewMemory(nil), ratelimit.NewMemorySlots()
	if cfg.RedisURL == "" {
		return mem, memSlots, func() {}, nil
	}
	opts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("RAMPART_REDIS_URL: %w", err)
	}
	rdb := redis.NewClient(opts)
	return ratelimit.NewRedis(rdb, "rampart:edge:", mem, log),
		ratelimit.NewRedisSlots(rdb, "rampart:edge:streams:", 0, memSlots, log),
		func() { _ = rdb.Close() }, nil
}

// healthcheck GETs the admin /readyz and fails unless it answers 200.
func healthcheck(ctx context.Context, args []string) error {
	cfg, err := config.Load(args)
	if err != nil {
		return err
	}
	host, port, err := net.SplitHostPort(cfg.AdminAddr)
	if err != nil {
		return err
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/readyz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: /readyz answered %s", resp.Status)
	}
	return nil
}

// slackHandler relays /slack/ to the adapter, or nil (503) when it is off.
func slackHandler(conn grpc.ClientConnInterface) http.Handler {
	if conn == nil {
		return nil
	}
	return slackrelay.New(conn)
}
