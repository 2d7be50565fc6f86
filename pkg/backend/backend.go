package backend

import (
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/config"
	"github.com/rampart-platform/rampart/pkg/logging"
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

// Env is what a service's setup function receives.
type Env struct {
	Common   config.Common
	Log      *slog.Logger
	TLS      *mtls.Source
	Server   *serve.Server
	Registry *prometheus.Registry
	keys     *switchKeys
	tracing  *telemetry.Tracing
	authAddr string // "" → RAMPART_AUTH_ADDR or the conventions default
}

// UseKeys makes the principal verifier use keys instead of the published
// keys Run would otherwise fetch from auth: auth passes its own signing keys,
// a service may pass a static key file or a RemoteKeys on a connection it
// manages itself.
func (e *Env) UseKeys(keys principal.Keys) { e.keys.set(keys) }

// Run loads cfg (env RAMPART_<NAME>_*, flags from args), starts the service
// and blocks until ctx ends. With args[0] == "healthcheck" it instead checks
// the running service's /readyz and returns an error unless it is ready;
// with args[0] == "migrate" it brings the service's database schema up to
// date (Spec.Migrate) and returns.
func Run(ctx context.Context, spec Spec, cfg Configurable, args []string, setup func(ctx context.Context, env *Env) error) error {
	healthcheck := len(args) > 0 && args[0] == "healthcheck"
	migrate := len(args) > 0 && args[0] == "migrate"
	if healthcheck || migrate {
		args = args[1:]
	}
	if err := config.Load(config.Prefix(spec.Name), cfg, args); err != nil {
		if errors.Is(err, flag.ErrHelp) { // -h: the usage text is the answer
			fmt.Fprintln(os.Stdout, err.Error())
			return nil
		}
		return err
	}
	common := *cfg.Base()
	if healthcheck {
		return checkReady(ctx, common.AdminAddr)
	}
	if migrate {
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

	// Log lines go out in batches (warnings and errors at once), flushed
	// when Run returns: one write per batch instead of one per request.
	out := logging.NewBufferedWriter(os.Stderr, logging.DefaultFlushDelay, logging.DefaultBufferSize)
	defer func() { _ = out.Flush() }()
	base := logging.New(out, common.SlogLevel())
	log := base.With("service", spec.Name)
	src, err := mtls.NewSource(mtls.FilesFor(common.CertDir, spec.Name), mtls.WithLogger(log))
	if err != nil {
		return fmt.Errorf("load mTLS certificate for %s from %s: %w", spec.Name, common.CertDir, err)
	}
	if err := os.MkdirAll(common.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	tracing, err := telemetry.TracingFromEnv(os.Getenv, spec.Name)
	if err != nil {
		return err
	}

	env := &Env{Common: common, Log: log, TLS: src, Registry: telemetry.NewRegistry(), keys: &switchKeys{}, tracing: tracing}
	if t, ok := cfg.(AuthTarget); ok {
		env.authAddr = t.AuthTarget()
	}
	verifier := principal.NewVerifier(env.keys, principal.WithCache(100_000))
	exempt := principal.ExemptMethods(spec.PrincipalExempt...)
	opts := serve.Options{
		Name:          spec.Name,
		ListenAddr:    common.ListenAddr,
		AdminAddr:     common.AdminAddr,
		TLS:           src,
		Logger:        base, // serve adds the service attribute itself
		Registry:      env.Registry,
		Tracing:       tracing,
		Reflection:    common.Reflection(),
		Pprof:         common.Pprof,
		ExtraUnary:    []grpc.UnaryServerInterceptor{principal.UnaryServerInterceptor(verifier, exempt)},
		ExtraStream:   []grpc.StreamServerInterceptor{principal.StreamServerInterceptor(verifier, exempt)},
		ServerOptions: spec.ServerOptions,
	}
	if common.AuthzPolicy != "" {
		opts.AuthzPolicyFile = common.AuthzPolicy
	} else {
		opts.AuthzPolicy = spec.DefaultPolicy
	}
	srv, err := serve.New(opts)
	if err != nil {
		return err
	}
	env.Server = srv

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		if err := src.Watch(runCtx, 5*time.Second); err != nil && !errors.Is(err, context.Canceled) {
			log.Warn("certificate watch stopped", "err", err)
		}
	}()
	if err := setup(runCtx, env); err != nil {
		return err
	}
	if !env.keys.isSet() {
		if err := env.fetchAuthKeys(runCtx); err != nil {
			return err
		}
	}
	log.Info("starting", "listen", srv.Addr().String(), "admin", srv.AdminAddr())
	return srv.Run(ctx)
}

// fetchAuthKeys wires the verifier to auth's published keys, refreshed in
// the background; the first fetch is retried so start order does not matter.
func (e *Env) fetchAuthKeys(ctx context.Context) error {
	conn, err := e.Dial(ctx, "auth")
	if err != nil {
		return err
	}
	e.Server.OnShutdown(func(context.Context) error { return conn.Close() })
	remote := principal.NewRemoteKeys(authv1.NewAuthServiceClient(conn), e.Log)
	e.keys.set(remote)
	go func() {
		backoff := 200 * time.Millisecond
		for !remote.Loaded() {
			cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			err := remote.Refresh(cctx)
			cancel()
			if err == nil {
				break
			}
			e.Log.Warn("waiting for auth signing keys", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 5*time.Second)
		}
		remote.Run(ctx, time.Minute)
	}()
	return nil
}

func checkReady(ctx context.Context, adminAddr string) error {
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
