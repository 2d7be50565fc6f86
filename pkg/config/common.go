package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/rampart-platform/rampart/pkg/listen"
)

// Profile values for [Common.Profile].
const (
	ProfileDev  = "dev"
	ProfileProd = "prod"
)

// Common holds the settings every service shares (docs/conventions.md).
// Embed it in a service's config struct and start from [Defaults]:
//
//	cfg := Config{Common: config.Defaults("auth")}
//	err := config.Load(config.Prefix("auth"), &cfg, os.Args[1:])
//
// A service config that defines its own Finalize or Validate must call
// Common's.
type Common struct {
	// Service is the service name ("auth", ...). It is set by Defaults,
	// not loaded.
	Service string

	// RootDataDir is the shared data directory; DataDir and CertDir default
	// to subdirectories of it.
	RootDataDir string `env:"RAMPART_DATA_DIR,noprefix" default:".rampart" usage:"shared Rampart data directory"`
	ListenAddr  string `env:"LISTEN_ADDR" flag:"listen-addr" usage:"gRPC listen address host:port (edge: HTTP)"`
	AdminAddr   string `env:"ADMIN_ADDR" flag:"admin-addr" usage:"/metrics, /healthz and /readyz listen address host:port"`
	DataDir     string `env:"DATA_DIR" flag:"data-dir" usage:"directory for the service's SQLite files (default $RAMPART_DATA_DIR/<service>)"`
	CertDir     string `env:"RAMPART_CERT_DIR,noprefix" flag:"cert-dir" usage:"PKI directory with ca.crt and <service>.crt/.key (default $RAMPART_DATA_DIR/pki)"`
	AuthzPolicy string `env:"AUTHZ_POLICY" flag:"authz-policy" usage:"per-method caller allow-list (JSON file); the embedded default applies when unset"`
	LogLevel    string `env:"LOG_LEVEL" flag:"log-level" default:"info" usage:"debug, info, warn or error"`
	Profile     string `env:"RAMPART_PROFILE,noprefix" flag:"profile" default:"dev" usage:"dev or prod (prod turns gRPC reflection off)"`
	// GRPCReflection turns gRPC reflection on in the prod profile too
	// (always on in dev). Only the operator CLI identity may call it.
	GRPCReflection bool `env:"RAMPART_GRPC_REFLECTION,noprefix" flag:"grpc-reflection" usage:"serve gRPC reflection in the prod profile too (always on in dev; only the rampart-cli identity may call it)"`
	// Pprof serves net/http/pprof under /debug/pprof/ on the admin address
	// (issue 15: profiling the real processes). Opt-in and dev profile only:
	// profiles expose memory contents' shapes and cost CPU, so Validate
	// refuses it in prod.
	Pprof bool `env:"RAMPART_PPROF,noprefix" flag:"pprof" usage:"serve /debug/pprof/ on the admin address (dev profile only)"`
}

type ports struct{ listen, admin int }

// portTable is the conventions.md port table.
func portTable(svc string) (ports, bool) {
	switch svc {
	case "auth":
		return ports{7001, 9001}, true
	case "keyvault":
		return ports{7002, 9002}, true
	case "inference":
		return ports{7003, 9003}, true
	case "ingestion":
		return ports{7004, 9004}, true
	case "slackadapter":
		return ports{7005, 9005}, true
	case "edge":
		return ports{8080, 9006}, true
	default:
		return ports{}, false
	}
}

// Services returns the names of the six Rampart services, in port order.
func Services() []string {
	return []string{"auth", "keyvault", "inference", "ingestion", "slackadapter", "edge"}
}

// Prefix returns the environment prefix of svc: "RAMPART_AUTH_" for "auth".
func Prefix(svc string) string {
	return "RAMPART_" + strings.ToUpper(svc) + "_"
}

// DefaultAddr returns svc's default listen address on loopback
// ("127.0.0.1:7001" for auth, "127.0.0.1:8080" for the edge), which is also
// the default dial target RAMPART_<SVC>_ADDR; "" for an unknown service.
func DefaultAddr(svc string) string {
	p, ok := portTable(svc)
	if !ok {
		return ""
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.listen))
}

// DefaultAdminAddr returns svc's default admin listen address on loopback;
// "" for an unknown service.
func DefaultAdminAddr(svc string) string {
	p, ok := portTable(svc)
	if !ok {
		return ""
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.admin))
}

// Defaults returns the defaults of svc from the conventions port table:
// listen and admin addresses on 127.0.0.1, info logging, dev profile, and
// .rampart as the shared data directory. For a name not in the table the
// addresses are empty and Validate reports them.
func Defaults(svc string) Common {
	return Common{
		Service:     svc,
		RootDataDir: ".rampart",
		ListenAddr:  DefaultAddr(svc),
		AdminAddr:   DefaultAdminAddr(svc),
		LogLevel:    "info",
		Profile:     ProfileDev,
	}
}

// Finalize derives DataDir ($RAMPART_DATA_DIR/<service>) and CertDir
// ($RAMPART_DATA_DIR/pki) when they were not set.
func (c *Common) Finalize() error {
	if c.DataDir == "" && c.Service != "" && c.RootDataDir != "" {
		c.DataDir = filepath.Join(c.RootDataDir, c.Service)
	}
	if c.CertDir == "" && c.RootDataDir != "" {
		c.CertDir = filepath.Join(c.RootDataDir, "pki")
	}
	return nil
}

// Validate checks the shared settings and reports every problem at once.
func (c Common) Validate() error {
	var errs []error
	if err := CheckListenAddr(c.ListenAddr); err != nil {
		errs = append(errs, Invalidf("ListenAddr", "%w", err))
	}
	if err := CheckListenAddr(c.AdminAddr); err != nil {
		errs = append(errs, Invalidf("AdminAddr", "%w", err))
	}
	if c.ListenAddr != "" && c.ListenAddr == c.AdminAddr && !strings.HasSuffix(c.ListenAddr, ":0") {
		errs = append(errs, Invalidf("AdminAddr", "must differ from the listen address %q", c.ListenAddr))
	}
	if c.DataDir == "" {
		errs = append(errs, Invalidf("DataDir", "required"))
	}
	if c.CertDir == "" {
		errs = append(errs, Invalidf("CertDir", "required"))
	}
	if _, err := ParseLogLevel(c.LogLevel); err != nil {
		errs = append(errs, Invalidf("LogLevel", "%w", err))
	}
	if c.Profile != ProfileDev && c.Profile != ProfileProd {
		errs = append(errs, Invalidf("Profile", "must be %q or %q, got %q", ProfileDev, ProfileProd, c.Profile))
	}
	if c.Pprof && c.Prod() {
		errs = append(errs, Invalidf("Pprof", "dev profile only: the prod profile never serves /debug/pprof/"))
	}
	return errors.Join(errs...)
}

// SlogLevel returns LogLevel as a slog.Level (info if it does not parse;
// Validate rejects such values).
func (c Common) SlogLevel() slog.Level {
	l, err := ParseLogLevel(c.LogLevel)
	if err != nil {
		return slog.LevelInfo
	}
	return l
}

// Prod reports whether the prod profile is selected.
func (c Common) Prod() bool { return c.Profile == ProfileProd }

// Reflection reports whether gRPC reflection is served: always in dev, in
// prod only with GRPCReflection.
func (c Common) Reflection() bool { return !c.Prod() || c.GRPCReflection }

// ParseLogLevel parses debug, info, warn or error (any case).
func ParseLogLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	default:
		return 0, fmt.Errorf("log level must be debug, info, warn or error, got %q", s)
	}
}

// CheckListenAddr accepts what CheckAddr does plus "fd:N", a socket
// inherited from a supervisor (pkg/listen).
func CheckListenAddr(addr string) error {
	if _, ok, err := listen.ParseFD(addr); ok || err != nil {
		return err
	}
	return CheckAddr(addr)
}

// CheckBackendAddr checks the address of a backend service: one host:port
// (a DNS name may resolve to every replica, as a Kubernetes headless
// Service does) or a comma list of them, one per replica; pkg/backend
// balances round_robin over either. Blanks around commas are allowed;
// an empty element is not.
func CheckBackendAddr(addr string) error {
	if addr == "" {
		return errors.New("required (host:port, or a comma list of them)")
	}
	if !strings.Contains(addr, ",") {
		return CheckAddr(addr)
	}
	for a := range strings.SplitSeq(addr, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			return fmt.Errorf("%q has an empty element in its list", addr)
		}
		if err := CheckAddr(a); err != nil {
			return err
		}
	}
	return nil
}

// CheckAddr checks that addr is host:port with a numeric port (0–65535).
// The host may be empty (all interfaces) or a name, an IPv4 or a bracketed
// IPv6 address.
func CheckAddr(addr string) error {
	if addr == "" {
		return errors.New("required (host:port)")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port", addr)
	}
	if strings.ContainsAny(host, " /") {
		return fmt.Errorf("%q has an invalid host", addr)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("%q has an invalid port %q (0-65535)", addr, port)
	}
	return nil
}

// Base returns c itself, so code that takes any service config embedding
// Common (pkg/backend) can reach the shared settings.
func (c *Common) Base() *Common { return c }
