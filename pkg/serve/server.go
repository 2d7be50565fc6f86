package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"

	"github.com/rampart-platform/rampart/pkg/authz"
	"github.com/rampart-platform/rampart/pkg/listen"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/telemetry"
)

// Server is one Rampart gRPC service with its admin endpoints.
type Server struct {
	opts    Options
	log     *slog.Logger
	grpc    *grpc.Server
	health  *health.Server
	metrics *telemetry.GRPCMetrics
	authz   *authz.Authorizer
	// Options' Extra interceptors, chained (nil for none): the innermost
	// steps of unary and stream, before grpcerr and the handler.
	extraUnary  grpc.UnaryServerInterceptor
	extraStream grpc.StreamServerInterceptor
	lis         net.Listener
	admin       *http.Server
	adminLis    net.Listener

	ready    atomic.Bool
	started  atomic.Bool
	draining chan struct{}

	lc *Lifecycle // the listeners, tasks and closers, stopped in order
}

// New builds the server and binds its listeners, so Addr and AdminAddr are
// known (and port conflicts reported) before Run. Register services on
// GRPC(), then call Run exactly once; Run releases the listeners.
func New(opts Options) (_ *Server, err error) {
	opts, err = opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, log: opts.Logger.With("service", opts.Name), draining: make(chan struct{}),
		extraUnary: chainUnary(opts.ExtraUnary), extraStream: chainStream(opts.ExtraStream)}

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
	s.grpc = grpc.NewServer(s.serverOptions()...)
	s.health = health.NewServer()
	// Starts NOT_SERVING: a probe during startup must not see SERVING.
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	healthpb.RegisterHealthServer(s.grpc, s.health)
	if opts.Reflection {
		reflection.Register(s.grpc)
	}
	if err := s.listen(); err != nil {
		return nil, err
	}
	s.lc = s.lifecycle()
	return s, nil
}

// serverOptions are the gRPC server's options: mTLS, the interceptor chain
// of the package doc, keepalive and stream workers, then Options'.
func (s *Server) serverOptions() []grpc.ServerOption {
	opts := s.opts
	unary, stream := s.unaryInterceptors(), s.streamInterceptors()
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
		// Fixed HTTP/2 windows turn grpc-go's bandwidth-delay estimation
		// off: with it the server sent a PING (and a connection
		// WINDOW_UPDATE) whenever a request's DATA arrived while no PING
		// was out — for sequential calls one more write, read and wake-up
		// per call on both sides of every hop (ADR 0055 for keyvault, ADR
		// 0054 for all). Internal calls are small and every hop is in one
		// cluster: 1 MiB per stream and 4 MiB per connection hold any
		// request, and a larger upload (ingestion) waits for a window
		// update per 256 KiB read, no limit at in-cluster round trips.
		grpc.InitialWindowSize(StreamWindow),
		grpc.InitialConnWindowSize(ConnWindow),
	}
	serverOpts = append(serverOpts, opts.Tracing.ServerOptions()...)
	return append(serverOpts, opts.ServerOptions...)
}

// The fixed HTTP/2 windows of every internal hop, both ends (the server
// here, pkg/backend's dialer for the client): 1 MiB per stream, 4 MiB per
// connection.
const (
	StreamWindow = 1 << 20
	ConnWindow   = 1 << 22
)

// WindowDialOptions fix a client connection's windows as the server fixes
// its own (above), so neither end runs bandwidth-delay estimation and its
// per-call PINGs.
func WindowDialOptions() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithInitialWindowSize(StreamWindow), grpc.WithInitialConnWindowSize(ConnWindow)}
}

// unaryInterceptors is the unary chain of the package doc: one
// interceptor (unary) running every step, Options' Extra ones inside it.
func (s *Server) unaryInterceptors() []grpc.UnaryServerInterceptor {
	return []grpc.UnaryServerInterceptor{s.unary}
}

// streamInterceptors is the stream chain of the package doc (stream).
func (s *Server) streamInterceptors() []grpc.StreamServerInterceptor {
	return []grpc.StreamServerInterceptor{s.stream}
}

// listen binds the gRPC listener and, when configured, the admin one.
func (s *Server) listen() error {
	var err error
	s.lis, err = listen.TCP(s.opts.ListenAddr)
	if err != nil {
		return fmt.Errorf("serve %s: listen: %w", s.opts.Name, err)
	}
	if s.opts.AdminAddr != "" {
		s.adminLis, err = listen.TCP(s.opts.AdminAddr)
		if err != nil {
			return fmt.Errorf("serve %s: admin listen: %w", s.opts.Name, err)
		}
		s.admin = newAdminServer(s.opts.Registry, &s.ready, s.opts.Pprof)
	}
	return nil
}

// lifecycle registers the server's parts in the shutdown order of the
// package doc: tracing and the authz policy close last, after the
// closers the service registers with OnShutdown.
func (s *Server) lifecycle() *Lifecycle {
	lc := NewLifecycle(s.log, s.opts.DrainDelay, s.opts.ShutdownTimeout)
	lc.OnShutdown(s.opts.Tracing.Shutdown)
	lc.OnShutdown(func(context.Context) error { s.authz.Close(); return nil })
	lc.OnDrain(func() {
		s.ready.Store(false)
		s.health.Shutdown()
		close(s.draining)
	})
	lc.Serve("gRPC", func() error {
		// ErrServerStopped: shutdown won the race against Serve; the
		// listener is closed either way.
		if err := s.grpc.Serve(s.lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			return err
		}
		return nil
	}, s.stopGRPC)
	if s.admin != nil {
		lc.ServeHTTP("admin", s.admin, s.adminLis)
	}
	return lc
}

// stopGRPC waits for open calls until ctx ends, then closes what is left.
func (s *Server) stopGRPC(ctx context.Context) error {
	stopped := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-ctx.Done():
		s.log.WarnContext(ctx, "graceful stop timed out; closing remaining connections")
		s.grpc.Stop()
		<-stopped
	}
	return nil
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

// OnShutdown registers f to run after the gRPC and admin servers and the
// tasks stopped, in reverse registration order (close stores here).
func (s *Server) OnShutdown(f func(context.Context) error) { s.lc.OnShutdown(f) }

// Lifecycle returns the server's lifecycle, for what runs beside the gRPC
// server (pkg/backend's tasks).
func (s *Server) Lifecycle() *Lifecycle { return s.lc }

// Go registers a background task (Lifecycle.Go): it runs while the server
// serves, is cancelled and awaited after the servers stopped and before
// the closers run, and an error from it stops the service.
func (s *Server) Go(name string, task func(ctx context.Context) error) { s.lc.Go(name, task) }

// Run serves until ctx is cancelled, a listener fails or a task fails,
// then shuts down in order (see the package doc). It returns nil after a
// clean shutdown.
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
	if err := s.lc.Run(ctx); err != nil {
		return fmt.Errorf("serve %s: %w", s.opts.Name, err)
	}
	return nil
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
