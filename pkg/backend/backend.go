package backend

import (
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/config"
	"github.com/rampart-platform/rampart/pkg/logging"
	"github.com/rampart-platform/rampart/pkg/memtrim"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/principal"
	"github.com/rampart-platform/rampart/pkg/serve"
	"github.com/rampart-platform/rampart/pkg/telemetry"
)

// Spec declares what differs between services.
type Spec struct {
	// Name is the service name from docs/conventions.md ("keyvault").
	Name string
	// DefaultPolicy is the embedded authz policy (pkg/authz JSON), used
	// unless the operator points AUTHZ_POLICY at a file.
	DefaultPolicy []byte
	// PrincipalExempt lists methods callable without a principal assertion
	// ("/pkg.Service/Method" or "/pkg.Service/*"). Everything else needs one.
	PrincipalExempt []string
	// ServerOptions are extra gRPC server options (e.g. a larger
	// MaxRecvMsgSize for ingestion's uploads).
	ServerOptions []grpc.ServerOption
	// Migrate opens the service's store with the loaded configuration,
	// which applies its migrations, and closes it: "migrate" as the first
	// argument runs only this and exits (a deployment's migration job,
	// before the new release's replicas start). nil: the service has no
	// database.
	Migrate func(ctx context.Context, log *slog.Logger) error
	// GCPercent is the service's default GOGC (serve.SetDefaultGCPercent;
	// the GOGC environment variable wins). 0 keeps Go's 100: services
	// with large live heaps (ingestion's vector caches) must not triple
	// them.
	GCPercent int
}

// Configurable is a service config struct embedding config.Common.
type Configurable interface {
	Base() *config.Common
}

// AuthTarget is implemented by a service config that carries auth's address
// itself (flag and env): Run then fetches the signing keys there instead of
// at RAMPART_AUTH_ADDR.
type AuthTarget interface {
	AuthTarget() string
}

// ShutdownTimes is implemented by a service config that sets its own drain
// delay and shutdown deadline (the edge); other services use pkg/serve's
// defaults.
type ShutdownTimes interface {
	ShutdownTimes() (drainDelay, timeout time.Duration)
}

// Env is what a service's setup function receives.
type Env struct {
	Common   config.Common
	Log      *slog.Logger
	TLS      *mtls.Source
	Server   *serve.Server // the gRPC server; nil for an HTTP service (RunHTTP)
	Registry *prometheus.Registry
	keys     *switchKeys
	tracing  *telemetry.Tracing
	authAddr string           // "" → RAMPART_AUTH_ADDR or the conventions default
	lc       *serve.Lifecycle // the service's servers, tasks and closers
}

// UseKeys makes the principal verifier use keys instead of the published
// keys Run would otherwise fetch from auth: auth passes its own signing keys,
// a service may pass a static key file or a RemoteKeys on a connection it
// manages itself.
func (e *Env) UseKeys(keys principal.Keys) { e.keys.set(keys) }

// Go starts a background task with the service (serve.Lifecycle.Go): it is
// cancelled and awaited after the servers stopped and before the closers
// run, and an error it returns stops the service.
func (e *Env) Go(name string, task func(ctx context.Context) error) { e.lc.Go(name, task) }

// OnShutdown registers a closer: it runs after the servers and tasks
// stopped, in reverse registration order (close stores here).
func (e *Env) OnShutdown(f func(context.Context) error) { e.lc.OnShutdown(f) }

// OnDrain registers f to run first at shutdown, to mark the service not
// ready (the gRPC server's readiness and health do this themselves).
func (e *Env) OnDrain(f func()) { e.lc.OnDrain(f) }

// ServeHTTP serves srv on lis with the service: it is drained with the
// other servers at shutdown (http.Server.Shutdown, then Close at the
// deadline).
func (e *Env) ServeHTTP(name string, srv *http.Server, lis net.Listener) {
	e.lc.ServeHTTP(name, srv, lis)
}

// Run loads cfg (env RAMPART_<NAME>_*, flags from args), starts the service
// and blocks until ctx ends. With args[0] == "healthcheck" it instead checks
// the running service's /readyz and returns an error unless it is ready;
// with args[0] == "migrate" it brings the service's database schema up to
// date (Spec.Migrate) and returns.
func Run(ctx context.Context, spec Spec, cfg Configurable, args []string, setup func(ctx context.Context, env *Env) error) error {
	serveIt, err := prepare(ctx, spec, cfg, args)
	if !serveIt {
		return err
	}
	base, flush := newLogger(cfg.Base())
	defer flush()
	env, err := newEnv(spec, cfg, base)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(env.Common.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	srv, err := serve.New(env.serveOptions(spec, base))
	if err != nil {
		return err
	}
	env.Server, env.lc = srv, srv.Lifecycle()
	return env.start(ctx, setup, func(ctx context.Context) error {
		if !env.keys.isSet() {
			if err := env.fetchAuthKeys(ctx); err != nil {
				return err
			}
		}
		env.Log.Info("starting", "listen", srv.Addr().String(), "admin", srv.AdminAddr())
		return srv.Run(ctx)
	})
}

// RunHTTP is Run for a service that serves HTTP instead of gRPC (the
// edge): the same configuration, log, healthcheck mode, mTLS source and
// tracing for its outgoing calls (Env.Dialer), and the same lifecycle
// (serve.Lifecycle: not ready → drain → servers → tasks → closers). setup
// registers the servers (Env.ServeHTTP), background tasks (Env.Go), what
// marks the service not ready (Env.OnDrain) and its closers
// (Env.OnShutdown); Env.Server is nil and no principal is verified.
func RunHTTP(ctx context.Context, spec Spec, cfg Configurable, args []string, setup func(ctx context.Context, env *Env) error) error {
	serveIt, err := prepare(ctx, spec, cfg, args)
	if !serveIt {
		return err
	}
	base, flush := newLogger(cfg.Base())
	defer flush()
	return ServeHTTP(ctx, spec, cfg, base, setup)
}

// ServeHTTP is RunHTTP with cfg already loaded and validated and the log
// given (tests call it with a config of their own).
func ServeHTTP(ctx context.Context, spec Spec, cfg Configurable, base *slog.Logger, setup func(ctx context.Context, env *Env) error) error {
	env, err := newEnv(spec, cfg, base)
	if err != nil {
		return err
	}
	drain, timeout := serve.DefaultDrainDelay, serve.DefaultShutdownTimeout
	if t, ok := cfg.(ShutdownTimes); ok {
		drain, timeout = t.ShutdownTimes()
	}
	env.lc = serve.NewLifecycle(env.Log, drain, timeout)
	env.lc.OnShutdown(env.tracing.Shutdown) // registered first: runs last
	return env.start(ctx, setup, env.lc.Run)
}

// prepare loads cfg and runs the modes that do not serve (-h, healthcheck,
// migrate): serveIt is false when the command is done, with err its result.
func prepare(ctx context.Context, spec Spec, cfg Configurable, args []string) (serveIt bool, err error) {
	healthcheck := len(args) > 0 && args[0] == "healthcheck"
	migrate := len(args) > 0 && args[0] == "migrate"
	if healthcheck || migrate {
		args = args[1:]
	}
	if err := config.Load(config.Prefix(spec.Name), cfg, args); err != nil {
		if errors.Is(err, flag.ErrHelp) { // -h: the usage text is the answer
			fmt.Fprintln(os.Stdout, err.Error())
			return false, nil
		}
		return false, err
	}
	common := cfg.Base()
	switch {
	case healthcheck:
		return false, checkReady(ctx, common.AdminAddr)
	case migrate:
		return false, runMigrate(ctx, spec, common)
	}
	serve.SetDefaultGCPercent(spec.GCPercent)
	return true, nil
}

// runMigrate is the "migrate" mode: Spec.Migrate, then exit.
func runMigrate(ctx context.Context, spec Spec, common *config.Common) error {
	if spec.Migrate == nil {
		return fmt.Errorf("%s has no database to migrate", spec.Name)
	}
	log := logging.New(os.Stderr, common.SlogLevel()).With("service", spec.Name)
	if err := os.MkdirAll(common.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	if err := spec.Migrate(ctx, log); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	log.Info("database schema is up to date")
	return nil
}

// newLogger returns the service's base logger. Log lines go out in
// batches (warnings and errors at once), flushed by flush: one write per
// batch instead of one per request.
func newLogger(common *config.Common) (base *slog.Logger, flush func()) {
	out := logging.NewBufferedWriter(os.Stderr, logging.DefaultFlushDelay, logging.DefaultBufferSize)
	return logging.New(out, common.SlogLevel()), func() { _ = out.Flush() }
}

// newEnv loads the service's mTLS source and tracing.
func newEnv(spec Spec, cfg Configurable, base *slog.Logger) (*Env, error) {
	common := *cfg.Base()
	log := base.With("service", spec.Name)
	src, err := mtls.NewSource(mtls.FilesFor(common.CertDir, spec.Name), mtls.WithLogger(log))
	if err != nil {
		return nil, fmt.Errorf("load mTLS certificate for %s from %s: %w", spec.Name, common.CertDir, err)
	}
	tracing, err := telemetry.TracingFromEnv(os.Getenv, spec.Name)
	if err != nil {
		return nil, err
	}
	env := &Env{Common: common, Log: log, TLS: src, Registry: telemetry.NewRegistry(), keys: &switchKeys{}, tracing: tracing}
	if t, ok := cfg.(AuthTarget); ok {
		env.authAddr = t.AuthTarget()
	}
	return env, nil
}

// serveOptions are the gRPC server's options: the principal-assertion
// interceptors over the verifier, the authz policy, the listeners.
func (e *Env) serveOptions(spec Spec, base *slog.Logger) serve.Options {
	// The service's name is the audience it accepts (ADR 0083): an
	// assertion another service was handed is refused here.
	verifier := principal.NewVerifier(e.keys, principal.WithCache(100_000), principal.WithAudience(spec.Name))
	exempt := principal.ExemptMethods(spec.PrincipalExempt...)
	opts := serve.Options{
		Name:          spec.Name,
		ListenAddr:    e.Common.ListenAddr,
		AdminAddr:     e.Common.AdminAddr,
		TLS:           e.TLS,
		Logger:        base, // serve adds the service attribute itself
		Registry:      e.Registry,
		Tracing:       e.tracing,
		Reflection:    e.Common.Reflection(),
		Pprof:         e.Common.Pprof,
		ExtraUnary:    []grpc.UnaryServerInterceptor{principal.UnaryServerInterceptor(verifier, exempt)},
		ExtraStream:   []grpc.StreamServerInterceptor{principal.StreamServerInterceptor(verifier, exempt)},
		ServerOptions: spec.ServerOptions,
	}
	if e.Common.AuthzPolicy != "" {
		opts.AuthzPolicyFile = e.Common.AuthzPolicy
	} else {
		opts.AuthzPolicy = spec.DefaultPolicy
	}
	return opts
}

// start watches the certificate files, runs the service's setup and then
// run. A setup that fails closes what it had registered. Between the two,
// the garbage of setting up (migrations, compiled schemas) is collected and
// its pages returned, and from then on memory is returned after every busy
// period (pkg/memtrim: an idle service should not keep the heap of its
// last burst).
func (e *Env) start(ctx context.Context, setup func(context.Context, *Env) error, run func(context.Context) error) error {
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	e.Go("certificate watch", func(ctx context.Context) error {
		if err := e.TLS.Watch(ctx, 5*time.Second); err != nil && !errors.Is(err, context.Canceled) {
			e.Log.Warn("certificate watch stopped", "err", err)
		}
		return nil
	})
	if err := setup(runCtx, e); err != nil {
		return errors.Join(err, e.lc.Close(context.WithoutCancel(ctx)))
	}
	if !e.Common.Pprof {
		memtrim.StopHeapProfile()
	}
	memtrim.ReleaseStartup()
	e.Go("memory trim", func(ctx context.Context) error { return memtrim.Run(ctx, memtrim.Options{}) })
	return run(runCtx)
}

// fetchAuthKeys wires the verifier to auth's published keys, refreshed in
// the background; the first fetch is retried so start order does not matter.
func (e *Env) fetchAuthKeys(ctx context.Context) error {
	conn, err := e.Dial(ctx, "auth")
	if err != nil {
		return err
	}
	e.OnShutdown(func(context.Context) error { return conn.Close() })
	remote := principal.NewRemoteKeys(authv1.NewAuthServiceClient(conn), e.Log)
	e.keys.set(remote)
	e.Go("auth signing keys", func(ctx context.Context) error {
		if !waitForAuthKeys(ctx, remote, e.Log) {
			return nil
		}
		remote.Run(ctx, time.Minute)
		return nil
	})
	return nil
}

// waitForAuthKeys fetches auth's signing keys until it succeeds or ctx
// ends (reported as false). This is not an RPC retry: gRPC's retry policy
// (balance.go) already retries one GetSigningKeys on another replica; what
// is waited out here is auth being absent for a while at start-up, however
// long that takes, so the delay doubles from 200 ms to 5 s.
func waitForAuthKeys(ctx context.Context, remote *principal.RemoteKeys, log *slog.Logger) bool {
	_, err := backoff.Retry(ctx, func() (struct{}, error) {
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		return struct{}{}, remote.Refresh(cctx)
	},
		backoff.WithBackOff(&backoff.ExponentialBackOff{InitialInterval: 200 * time.Millisecond, Multiplier: 2, MaxInterval: 5 * time.Second}),
		backoff.WithMaxElapsedTime(0),
		backoff.WithNotify(func(err error, delay time.Duration) {
			log.Warn("waiting for auth signing keys", "err", err, "retry_in_us", delay.Microseconds())
		}))
	return err == nil
}

// checkReady GETs the admin /readyz of the service running here: an admin
// address on every interface (0.0.0.0, ::, or no host) is asked on
// loopback.
func checkReady(ctx context.Context, adminAddr string) error {
	if host, port, err := net.SplitHostPort(adminAddr); err == nil && (host == "" || host == "0.0.0.0" || host == "::") {
		adminAddr = net.JoinHostPort("127.0.0.1", port)
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+adminAddr+"/readyz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: not ready (%s)", resp.Status)
	}
	return nil
}

// switchKeys lets the verifier be built before the key source is known.
type switchKeys struct {
	k atomic.Pointer[principal.Keys]
}

func (s *switchKeys) set(k principal.Keys) { s.k.Store(&k) }
func (s *switchKeys) isSet() bool          { return s.k.Load() != nil }

func (s *switchKeys) PublicKey(kid string) (ed25519.PublicKey, bool) {
	k := s.k.Load()
	if k == nil {
		return nil, false
	}
	return (*k).PublicKey(kid)
}
