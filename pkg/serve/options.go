package serve

import (
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/rampart-platform/rampart/pkg/logging"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/telemetry"
)

// Defaults for the zero values of Options.
const (
	DefaultDrainDelay      = time.Second
	DefaultShutdownTimeout = 10 * time.Second
	DefaultAuthzRefresh    = 5 * time.Second
)

// Options configures a Server.
type Options struct {
	Name       string // service name, e.g. "auth"; required
	ListenAddr string // gRPC address; port 0 picks a free port (see Server.Addr); required
	AdminAddr  string // /metrics, /healthz, /readyz address; empty disables the admin server

	TLS *mtls.Source // server certificate and client trust bundle; required

	// Exactly one of AuthzPolicy (Rampart policy JSON) and AuthzPolicyFile
	// (a path re-read every AuthzRefresh) must be set: there is no
	// allow-all default.
	AuthzPolicy     []byte
	AuthzPolicyFile string
	AuthzRefresh    time.Duration

	Logger     *slog.Logger         // default: JSON to stderr at info
	Registry   *prometheus.Registry // default: telemetry.NewRegistry()
	Tracing    *telemetry.Tracing   // nil: tracing off; shut down by Run
	Reflection bool                 // register gRPC reflection (dev profile only)
	Pprof      bool                 // serve /debug/pprof/ on the admin server (dev profile only; config.Common.Pprof)

	// Extra interceptors run after authz and before the handler, e.g.
	// principal verification.
	ExtraUnary  []grpc.UnaryServerInterceptor
	ExtraStream []grpc.StreamServerInterceptor
	// ServerOptions are appended to the server's options (message sizes...).
	ServerOptions []grpc.ServerOption

	DrainDelay      time.Duration // default DefaultDrainDelay; negative: none
	ShutdownTimeout time.Duration // GracefulStop deadline and closer budget; default DefaultShutdownTimeout
}

func (o Options) withDefaults() (Options, error) {
	var errs []error
	if o.Name == "" {
		errs = append(errs, errors.New("serve: Name is required"))
	}
	if o.ListenAddr == "" {
		errs = append(errs, errors.New("serve: ListenAddr is required"))
	}
	if o.TLS == nil {
		errs = append(errs, errors.New("serve: TLS is required: Rampart services speak only mTLS"))
	}
	switch {
	case len(o.AuthzPolicy) == 0 && o.AuthzPolicyFile == "":
		errs = append(errs, errors.New("serve: an authz policy is required (AuthzPolicy or AuthzPolicyFile)"))
	case len(o.AuthzPolicy) > 0 && o.AuthzPolicyFile != "":
		errs = append(errs, errors.New("serve: set AuthzPolicy or AuthzPolicyFile, not both"))
	}
	if err := errors.Join(errs...); err != nil {
		return o, err
	}
	if o.AuthzRefresh <= 0 {
		o.AuthzRefresh = DefaultAuthzRefresh
	}
	if o.Logger == nil {
		o.Logger = logging.New(os.Stderr, slog.LevelInfo)
	}
	if o.Registry == nil {
		o.Registry = telemetry.NewRegistry()
	}
	if o.DrainDelay == 0 {
		o.DrainDelay = DefaultDrainDelay
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
	}
	return o, nil
}
