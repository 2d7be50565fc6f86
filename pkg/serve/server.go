package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"

	"github.com/rampart-platform/rampart/pkg/authz"
	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/pkg/listen"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/telemetry"
)

// Server is one Rampart gRPC service with its admin endpoints.
type Server struct {
	opts     Options
	log      *slog.Logger
	grpc     *grpc.Server
	health   *health.Server
	metrics  *grpcprom.ServerMetrics
	authz    *authz.Authorizer
	lis      net.Listener
	admin    *http.Server
	adminLis net.Listener

	ready    atomic.Bool
	started  atomic.Bool
	draining chan struct{}

	mu      sync.Mutex
	closers []func(context.Context) error
}

// New builds the server and binds its listeners, so Addr and AdminAddr are
// known (and port conflicts reported) before Run. Register services on
// GRPC(), then call Run exactly once; Run releases the listeners.
func New(opts Options) (_ *Server, err error) {
	opts, err = opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, log: opts.Logger.With("service", opts.Name), draining: make(chan struct{})}

	if opts.AuthzPolicyFile != "" {
		s.authz, err = authz.FromFile(opts.AuthzPolicyFile, opts.AuthzRefresh, s.log)
	} else {
		s.authz, err = authz.New(opts.AuthzPolicy)
	}
	if err != nil {
		return nil, fmt.Errorf("serve %s: %w", opts.Name, err)
	}
	defer func() {
		if err != nil {
			s.release()
		}
	}()

	s.metrics, err = telemetry.NewServerMetrics(opts.Registry)
	if err != nil {
		return nil, fmt.Errorf("serve %s: %w", opts.Name, err)
	}

	unary := append([]grpc.UnaryServerInterceptor{
		requestIDUnary,
		recoverUnary(s.log),
		accessLogUnary(s.log),
		s.metrics.UnaryServerInterceptor(),
		s.authz.UnaryInterceptor,
	}, opts.ExtraUnary...)
	unary = append(unary, grpcerr.UnaryServerInterceptor(s.log))
	stream := append([]grpc.StreamServerInterceptor{
		requestIDStream,
		recoverStream(s.log),
		accessLogStream(s.log),
		s.metrics.StreamServerInterceptor(),
		s.authz.StreamInterceptor,
	}, opts.ExtraStream...)
	stream = append(stream, grpcerr.StreamServerInterceptor(s.log))

	serverOpts := []grpc.ServerOption{
		grpc.Creds(mtls.ServerCredentials(opts.TLS)),
		grpc.ChainUnaryInterceptor(unary...),
		grpc.ChainStreamInterceptor(stream...),
		// Let clients keep long-lived streams (e.g. WatchRevocations) alive
		// through idle NATs without being disconnected for pinging.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		// Clients reconnect every few minutes, and so re-resolve DNS: a
		// replica added behind a headless Service gets its share of calls
		// (pkg/backend balances round_robin over what DNS lists). No grace
		// limit: open streams finish on the old connection.
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionAge: MaxConnectionAge}),
		// Reused handler goroutines keep their grown stacks; without them
		// every call starts on a fresh 8 KB stack and pays runtime.newstack
		// copies in the interceptors and handler (≈5–10% of a service's
		// CPU under load, issue 15). A ServerOptions entry overrides this.
		grpc.NumStreamWorkers(DefaultStreamWorkers()),
	}
	serverOpts = append(serverOpts, opts.Tracing.ServerOptions()...)
	serverOpts = append(serverOpts, opts.ServerOptions...)
	s.grpc = grpc.NewServer(serverOpts...)

	s.health = health.NewServer()
	// Starts NOT_SERVING: a probe during startup must not see SERVING.
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	healthpb.RegisterHealthServer(s.grpc, s.health)
	if opts.Reflection {
		reflection.Register(s.grpc)
	}

	s.lis, err = listen.TCP(opts.ListenAddr)
	if err != nil {
		return nil, fmt.Errorf("serve %s: listen: %w", opts.Name, err)
	}
	if opts.AdminAddr != "" {
		s.adminLis, err = listen.TCP(opts.AdminAddr)
		if err != nil {
			return nil, fmt.Errorf("serve %s: admin listen: %w", opts.Name, err)
		}
		s.admin = newAdminServer(opts.Registry, &s.ready, opts.Pprof)
	}
	return s, nil
}

// DefaultStreamWorkers is the number of reusable handler goroutines a
// Server starts: enough for the concurrent calls a loaded edge sends (a call
// that finds every worker busy still runs, on a fresh goroutine). Idle
// workers cost only their stacks.
func DefaultStreamWorkers() uint32 {
	return uint32(max(128, 16*runtime.GOMAXPROCS(0))) //nolint:gosec // small positive
}

// MaxConnectionAge is how long a client connection lives before the server
// asks the client to open a new one (GOAWAY), for new replicas to be found.
const MaxConnectionAge = 5 * time.Minute

// GRPC returns the gRPC server for service registration before Run.
func (s *Server) GRPC() *grpc.Server { return s.grpc }

// Addr returns the bound gRPC address (the real port when ListenAddr used 0).
func (s *Server) Addr() net.Addr { return s.lis.Addr() }

// AdminAddr returns the bound admin address, or nil without an admin server.
func (s *Server) AdminAddr() net.Addr {
	if s.adminLis == nil {
		return nil
	}
	return s.adminLis.Addr()
}

// Logger returns the server's logger (with the service name attached).
func (s *Server) Logger() *slog.Logger { return s.log }

// Draining is closed when shutdown starts. Long-lived stream handlers should
// return on it: GracefulStop waits for every open stream.
func (s *Server) Draining() <-chan struct{} { return s.draining }

// OnShutdown registers f to run after the gRPC and admin servers stopped,
// in reverse registration order (close stores here).
func (s *Server) OnShutdown(f func(context.Context) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closers = append(s.closers, f)
}

// Run serves until ctx is cancelled or a listener fails, then shuts down in
// order (see the package doc). It returns nil after a clean shutdown.
func (s *Server) Run(ctx context.Context) error {
	if !s.started.CompareAndSwap(false, true) {
		return errors.New("serve: Run called twice")
	}
	s.metrics.InitializeMetrics(s.grpc)
	for name := range s.grpc.GetServiceInfo() {
		s.health.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
	}
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	s.ready.Store(true)
	s.log.InfoContext(ctx, "serving", "addr", s.Addr().String(), "admin_addr", fmt.Sprint(s.AdminAddr()),
		"spiffe_id", s.opts.TLS.ID().String())

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		// ErrServerStopped: shutdown won the race against Serve; the
		// listener is closed either way.
		if err := s.grpc.Serve(s.lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			return fmt.Errorf("serve %s: gRPC: %w", s.opts.Name, err)
		}
		return nil
	})
	if s.admin != nil {
		g.Go(func() error {
			if err := s.admin.Serve(s.adminLis); !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("serve %s: admin: %w", s.opts.Name, err)
			}
			return nil
		})
	}
	g.Go(func() error {
		<-gctx.Done()
		// Shutdown must run to completion even though ctx is done.
		return s.shutdown(context.WithoutCancel(ctx))
	})
	return g.Wait()
}

func (s *Server) shutdown(ctx context.Context) error {
	s.ready.Store(false)
	s.health.Shutdown()
	close(s.draining)
	s.log.InfoContext(ctx, "draining", "drain_delay_us", s.opts.DrainDelay.Microseconds())
	if s.opts.DrainDelay > 0 {
		// Readiness and health are NOT_SERVING now; give load balancers and
		// client health watchers time to route new calls elsewhere.
		time.Sleep(s.opts.DrainDelay)
	}

	stopCtx, cancel := context.WithTimeout(ctx, s.opts.ShutdownTimeout)
	defer cancel()
	stopped := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-stopCtx.Done():
		s.log.WarnContext(ctx, "graceful stop timed out; closing remaining connections")
		s.grpc.Stop()
		<-stopped
	}

	var errs []error
	if s.admin != nil {
		if err := s.admin.Shutdown(stopCtx); err != nil {
			_ = s.admin.Close()
			errs = append(errs, fmt.Errorf("admin shutdown: %w", err))
		}
	}
	s.authz.Close()

	closeCtx, cancelClose := context.WithTimeout(ctx, s.opts.ShutdownTimeout)
	defer cancelClose()
	s.mu.Lock()
	closers := s.closers
	s.mu.Unlock()
	for i := len(closers) - 1; i >= 0; i-- {
		if err := closers[i](closeCtx); err != nil {
			errs = append(errs, fmt.Errorf("shutdown closer: %w", err))
		}
	}
	if err := s.opts.Tracing.Shutdown(closeCtx); err != nil {
		errs = append(errs, err)
	}
	err := errors.Join(errs...)
	if err != nil {
		s.log.ErrorContext(ctx, "stopped with errors", "error", err)
	} else {
		s.log.InfoContext(ctx, "stopped")
	}
	return err
}

// release frees what New acquired when New fails half way.
func (s *Server) release() {
	s.authz.Close()
	if s.metrics != nil {
		s.opts.Registry.Unregister(s.metrics)
	}
	if s.lis != nil {
		_ = s.lis.Close()
	}
	if s.adminLis != nil {
		_ = s.adminLis.Close()
	}
}
