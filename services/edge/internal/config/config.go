package config

import (
	"errors"
	"net/netip"
	"net/url"
	"strings"
	"time"

	pkgconfig "github.com/rampart-platform/rampart/pkg/config"
	"github.com/rampart-platform/rampart/pkg/redisconf"
	"github.com/rampart-platform/rampart/services/edge/internal/middleware"
)

// Disabled is the dial target value that switches an optional backend off
// (its routes answer 503).
const Disabled = "off"

// Config is the edge's configuration.
type Config struct {
	pkgconfig.Common

	// HTTPAddr is the public listener. It defaults to the edge's
	// LISTEN_ADDR, which defaults to 127.0.0.1:8080.
	HTTPAddr string `env:"RAMPART_HTTP_ADDR,noprefix" flag:"http-addr" usage:"public HTTP listen address host:port (default: the listen address, 127.0.0.1:8080)"`

	AuthAddr         string `env:"RAMPART_AUTH_ADDR,noprefix" flag:"auth-addr" usage:"auth gRPC address (required)"`
	KeyvaultAddr     string `env:"RAMPART_KEYVAULT_ADDR,noprefix" flag:"keyvault-addr" usage:"keyvault gRPC address, or off"`
	InferenceAddr    string `env:"RAMPART_INFERENCE_ADDR,noprefix" flag:"inference-addr" usage:"inference gRPC address, or off"`
	IngestionAddr    string `env:"RAMPART_INGESTION_ADDR,noprefix" flag:"ingestion-addr" usage:"ingestion gRPC address, or off"`
	SlackAdapterAddr string `env:"RAMPART_SLACKADAPTER_ADDR,noprefix" flag:"slackadapter-addr" usage:"slack adapter gRPC address, or off"`

	// Settings (RAMPART_REDIS_URL or RAMPART_REDIS_CLUSTER_URL), when set,
	// share rate limits and stream slots through Redis; on a cluster each
	// request's buckets are in its tenant's hash slot (ADR 0086).
	redisconf.Settings

	TLSCert string `env:"TLS_CERT" flag:"tls-cert" usage:"PEM certificate for TLS termination on the public listener"`
	TLSKey  string `env:"TLS_KEY" flag:"tls-key" usage:"PEM private key for TLS termination"`

	CORSOrigins    []string `env:"CORS_ORIGINS" flag:"cors-origins" usage:"comma-separated origins allowed by CORS (empty: CORS off)"`
	TrustedProxies []string `env:"TRUSTED_PROXIES" flag:"trusted-proxies" usage:"comma-separated CIDRs whose X-Forwarded-For is trusted"`

	// The access log: every error, and this fraction of the rest.
	AccessLogSample float64  `env:"ACCESS_LOG_SAMPLE" flag:"access-log-sample" default:"1" usage:"fraction (0-1) of successful requests written to the access log; responses >= 400 are always logged, metrics count every request"`
	AccessLogRoutes []string `env:"ACCESS_LOG_ROUTES" flag:"access-log-routes" usage:"per-route sample rates overriding ACCESS_LOG_SAMPLE, e.g. /v1/chat=0.01,/healthz=0 (routes as in the log's route field)"`

	KeyCacheTTL  time.Duration `env:"KEY_CACHE_TTL" flag:"key-cache-ttl" default:"30s" usage:"how long a verified key is cached (max 30s)"`
	KeyCacheSize int           `env:"KEY_CACHE_SIZE" flag:"key-cache-size" default:"10000" usage:"maximum number of cached keys"`

	DefaultKeyRPM    int `env:"DEFAULT_KEY_RPM" flag:"default-key-rpm" default:"3000" usage:"requests per minute per key when the key sets none (0: unlimited)"`
	DefaultTenantRPM int `env:"DEFAULT_TENANT_RPM" flag:"default-tenant-rpm" default:"12000" usage:"requests per minute per tenant when the tenant sets none (0: unlimited)"`

	MaxStreamsPerKey int `env:"MAX_STREAMS_PER_KEY" flag:"max-streams-per-key" default:"20" usage:"chat completion streams one API key may hold open at once, shared across edges through Redis when configured (0: unlimited)"`
	// MaxStreamsPerTenant bounds a tenant's streams across all its keys
	// (ADR 0111 §3); a tenant's own max_concurrent_streams only narrows it,
	// the platform admin's for one tenant replaces it (ADR 0123 §3).
	MaxStreamsPerTenant int `env:"MAX_STREAMS_PER_TENANT" flag:"max-streams-per-tenant" default:"100" usage:"chat completion streams one tenant may hold open at once across all its API keys, shared across edges through Redis when configured; a tenant's limits may set fewer, the platform admin's also more for one tenant (0: unlimited)"`

	ReadHeaderTimeout time.Duration `env:"READ_HEADER_TIMEOUT" flag:"read-header-timeout" default:"10s" usage:"time to read request headers"`
	ReadTimeout       time.Duration `env:"READ_TIMEOUT" flag:"read-timeout" default:"60s" usage:"time to read a whole request"`
	IdleTimeout       time.Duration `env:"IDLE_TIMEOUT" flag:"idle-timeout" default:"120s" usage:"keep-alive idle timeout"`
	RequestTimeout    time.Duration `env:"REQUEST_TIMEOUT" flag:"request-timeout" default:"60s" usage:"write deadline of ordinary routes"`
	StreamTimeout     time.Duration `env:"STREAM_TIMEOUT" flag:"stream-timeout" default:"15m" usage:"write deadline of streaming routes (chat completions)"`
	DrainDelay        time.Duration `env:"DRAIN_DELAY" flag:"drain-delay" default:"1s" usage:"time between reporting not-ready and closing the listener"`
	ShutdownTimeout   time.Duration `env:"SHUTDOWN_TIMEOUT" flag:"shutdown-timeout" default:"20s" usage:"deadline for in-flight requests at shutdown"`
}

// Defaults returns the edge's defaults.
func Defaults() Config {
	return Config{
		Common:           pkgconfig.Defaults("edge"),
		AuthAddr:         pkgconfig.DefaultAddr("auth"),
		KeyvaultAddr:     pkgconfig.DefaultAddr("keyvault"),
		InferenceAddr:    pkgconfig.DefaultAddr("inference"),
		IngestionAddr:    pkgconfig.DefaultAddr("ingestion"),
		SlackAdapterAddr: pkgconfig.DefaultAddr("slackadapter"),
		AccessLogSample:  1,
	}
}

// AccessLogSampling is the access log's sampling (ACCESS_LOG_SAMPLE and
// ACCESS_LOG_ROUTES).
func (c Config) AccessLogSampling() (middleware.Sampling, error) {
	return middleware.ParseSampling(c.AccessLogSample, c.AccessLogRoutes)
}

// Load reads the configuration from the environment and args.
func Load(args []string) (Config, error) {
	cfg := Defaults()
	err := pkgconfig.Load(pkgconfig.Prefix("edge"), &cfg, args)
	return cfg, err
}

// ShutdownTimes are the edge's drain delay and shutdown deadline
// (pkg/backend.ShutdownTimes).
func (c *Config) ShutdownTimes() (drainDelay, timeout time.Duration) {
	return c.DrainDelay, c.ShutdownTimeout
}

// Finalize derives HTTPAddr and the shared directories.
func (c *Config) Finalize() error {
	if c.HTTPAddr == "" {
		c.HTTPAddr = c.ListenAddr
	}
	c.ListenAddr = c.HTTPAddr
	return c.Common.Finalize()
}

// Validate checks every setting and reports all problems together.
func (c Config) Validate() error {
	errs := []error{c.Common.Validate()}
	if c.AuthAddr == "" || c.AuthAddr == Disabled {
		errs = append(errs, pkgconfig.Invalidf("AuthAddr", "required: the edge cannot verify keys without auth"))
	} else if err := pkgconfig.CheckBackendAddr(c.AuthAddr); err != nil {
		errs = append(errs, pkgconfig.Invalidf("AuthAddr", "%w", err))
	}
	for name, v := range map[string]string{
		"KeyvaultAddr": c.KeyvaultAddr, "InferenceAddr": c.InferenceAddr,
		"IngestionAddr": c.IngestionAddr, "SlackAdapterAddr": c.SlackAdapterAddr,
	} {
		if v == "" || v == Disabled {
			continue
		}
		if err := pkgconfig.CheckBackendAddr(v); err != nil {
			errs = append(errs, pkgconfig.Invalidf(name, "%w (or %q to disable)", err, Disabled))
		}
	}
	errs = append(errs, c.RedisErrors()...)
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, pkgconfig.Invalidf("TLSCert", "TLS_CERT and TLS_KEY must be set together"))
	}
	for _, o := range c.CORSOrigins {
		u, err := url.Parse(o)
		if o == "*" || err != nil || u.Scheme == "" || u.Host == "" || u.Path != "" || strings.ContainsAny(o, " *") {
			errs = append(errs, pkgconfig.Invalidf("CORSOrigins", "%q is not an origin like https://app.example.com (wildcards are not allowed)", o))
		}
	}
	if _, err := c.AccessLogSampling(); err != nil {
		errs = append(errs, pkgconfig.Invalidf("AccessLogSample", "%w", err))
	}
	if _, err := c.TrustedProxyPrefixes(); err != nil {
		errs = append(errs, pkgconfig.Invalidf("TrustedProxies", "%w", err))
	}
	if c.KeyCacheTTL <= 0 || c.KeyCacheTTL > 30*time.Second {
		errs = append(errs, pkgconfig.Invalidf("KeyCacheTTL", "must be in (0, 30s], got %s", c.KeyCacheTTL))
	}
	if c.KeyCacheSize < 1 || c.KeyCacheSize > 10_000_000 {
		errs = append(errs, pkgconfig.Invalidf("KeyCacheSize", "must be between 1 and 10000000"))
	}
	if c.DefaultKeyRPM < 0 {
		errs = append(errs, pkgconfig.Invalidf("DefaultKeyRPM", "must not be negative"))
	}
	if c.MaxStreamsPerKey < 0 {
		errs = append(errs, pkgconfig.Invalidf("MaxStreamsPerKey", "must not be negative"))
	}
	if c.MaxStreamsPerTenant < 0 {
		errs = append(errs, pkgconfig.Invalidf("MaxStreamsPerTenant", "must not be negative"))
	}
	if c.DefaultTenantRPM < 0 {
		errs = append(errs, pkgconfig.Invalidf("DefaultTenantRPM", "must not be negative"))
	}
	for name, d := range map[string]time.Duration{
		"ReadHeaderTimeout": c.ReadHeaderTimeout, "ReadTimeout": c.ReadTimeout, "IdleTimeout": c.IdleTimeout,
		"RequestTimeout": c.RequestTimeout, "StreamTimeout": c.StreamTimeout, "ShutdownTimeout": c.ShutdownTimeout,
	} {
		if d <= 0 {
			errs = append(errs, pkgconfig.Invalidf(name, "must be positive"))
		}
	}
	if c.DrainDelay < 0 {
		errs = append(errs, pkgconfig.Invalidf("DrainDelay", "must not be negative"))
	}
	return errors.Join(errs...)
}

// TrustedProxyPrefixes parses TrustedProxies (CIDRs or single addresses).
func (c Config) TrustedProxyPrefixes() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range c.TrustedProxies {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, errors.New("\"" + s + "\" is not a CIDR or an IP address")
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// Enabled reports whether an optional backend address is configured.
func Enabled(addr string) bool { return addr != "" && addr != Disabled }
