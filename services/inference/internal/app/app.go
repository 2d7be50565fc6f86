package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	"github.com/prometheus/client_golang/prometheus"

	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	ingestionv1 "github.com/rampart-platform/rampart/gen/go/rampart/ingestion/v1"
	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/pkg/backend"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/principal"
	"github.com/rampart-platform/rampart/pkg/secrets"
	"github.com/rampart-platform/rampart/pkg/serve"
	pstore "github.com/rampart-platform/rampart/pkg/store"
	"github.com/rampart-platform/rampart/pkg/telemetry"
	"github.com/rampart-platform/rampart/pkg/tenantevents"
	"github.com/rampart-platform/rampart/services/inference/internal/config"
	"github.com/rampart-platform/rampart/services/inference/internal/inference"
	"github.com/rampart-platform/rampart/services/inference/internal/promptlog"
	"github.com/rampart-platform/rampart/services/inference/internal/provider"
	"github.com/rampart-platform/rampart/services/inference/internal/provider/bedrock"
	"github.com/rampart-platform/rampart/services/inference/internal/provider/local"
	"github.com/rampart-platform/rampart/services/inference/internal/provider/openai"
	"github.com/rampart-platform/rampart/services/inference/internal/quota"
	"github.com/rampart-platform/rampart/services/inference/internal/rag"
	"github.com/rampart-platform/rampart/services/inference/internal/registry"
	"github.com/rampart-platform/rampart/services/inference/internal/retention"
	"github.com/rampart-platform/rampart/services/inference/internal/server"
	"github.com/rampart-platform/rampart/services/inference/internal/store"
	"github.com/rampart-platform/rampart/services/inference/internal/toolpolicy"
	"github.com/rampart-platform/rampart/services/inference/internal/upstreamkey"
)

// Options are what New needs besides the configuration.
type Options struct {
	Config *config.Config
	// TLS is the service's mTLS source.
	TLS *mtls.Source
	// Dialer dials keyvault and ingestion (pkg/backend: mTLS, request id,
	// tracing); nil means a Dialer on TLS without tracing.
	Dialer *backend.Dialer
	// Keys verify principal assertions (auth's RemoteKeys in production).
	Keys principal.Keys
	// Models overrides Config.ModelsFile (tests).
	Models *registry.File
	// Tools overrides Config.ToolPolicyFile (tests).
	Tools *toolpolicy.File
	// AuthzPolicy overrides Config.AuthzPolicy and the embedded default.
	AuthzPolicy []byte
	Logger      *slog.Logger
	Registry    *prometheus.Registry
	// HTTPTransport, when set, is used by openai upstreams (tests).
	HTTPTransport http.RoundTripper
	// Server, when set, is an already configured server to register on
	// (pkg/backend in production, with its interceptors); otherwise New
	// creates one with the same chain, from Keys and AuthzPolicy.
	Server *serve.Server
	// DrainDelay overrides pkg/serve's drain delay (negative: none, for tests).
	DrainDelay time.Duration
	// Keyvault overrides the connection to keyvault (dialled with TLS at
	// Config.KeyvaultAddr when an upstream key or prompt logging needs it).
	Keyvault grpc.ClientConnInterface
	// KeyvaultAssertion, when set, supplies a service principal for secret
	// reads (pkg/secrets.KeyvaultOptions.Assertion); nil forwards the
	// caller's principal, so each tenant's own secret is read.
	KeyvaultAssertion func(ctx context.Context) (string, error)
	// Secrets overrides the cached keyvault reader of upstream API keys (tests).
	Secrets upstreamkey.Reader
	// Ingestion overrides the connection to ingestion (dialled with mTLS at
	// Config.IngestionAddr otherwise), searched for retrieval.
	Ingestion grpc.ClientConnInterface
	// Auth is the connection to auth whose GetTenantLimits bounds a job's
	// tenant in EmbedForTenant (ADR 0106 §2; Run dials it); nil: only the
	// limits seen on principals and carried by ingestion (ADR 0095 §4).
	Auth grpc.ClientConnInterface
	// AuthLimitsTTL overrides how long one of auth's answers is used
	// (0: inference.DefaultAuthLimitsTTL; tests).
	AuthLimitsTTL time.Duration
}

// App is the assembled service.
type App struct {
	Server  *serve.Server
	Service *inference.Service
	Store   *store.Store
	// Sweeper is the retention sweeper (nil when RetentionInterval is 0);
	// it runs on its own, tests may call Sweep.
	Sweeper *retention.Sweeper
	rec     *store.Recorder
	// wrapper is keyvault's encrypt-only WrapForTenant (nil without
	// keyvault): the eager sealing of legacy system prompts (ADR 0077).
	wrapper promptlog.Wrapper
}

// New builds the service; Run starts it.
func New(ctx context.Context, o Options) (_ *App, err error) {
	cfg := o.Config
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	models, reg, err := loadModels(o)
	if err != nil {
		return nil, err
	}
	promReg := o.Registry
	if promReg == nil {
		promReg = telemetry.NewRegistry()
	}
	c := newConns(ctx, o)
	defer func() {
		if err != nil {
			c.close()
		}
	}()
	cfg.WarnDeprecated(log)
	st, err := store.Open(ctx, cfg.UsageDSN)
	if err != nil {
		// Name the setting to fix; the URL is shown without its password.
		return nil, fmt.Errorf("inference store: RAMPART_INFERENCE_DATABASE_URL (%s): %w", pstore.RedactURL(cfg.UsageDSN), err)
	}
	rec := store.NewRecorder(st, log)
	defer func() {
		if err != nil {
			rec.Close()
			_ = st.Close()
		}
	}()
	svc, err := newService(ctx, o, c, serviceParts{models: models, reg: reg, st: st, rec: rec, log: log, promReg: promReg})
	if err != nil {
		return nil, err
	}

	srv := o.Server
	if srv == nil {
		if srv, err = newServer(o, log, promReg); err != nil {
			return nil, err
		}
	}
	server.New(svc, log).Register(srv.GRPC())
	sw, err := newSweeper(cfg, st, reg, log, promReg)
	if err != nil {
		return nil, err
	}
	if sw != nil {
		// Cancelled and awaited after gRPC drained, before the store closes.
		srv.Go("retention sweeper", func(ctx context.Context) error { sw.Run(ctx); return nil })
	}
	a := &App{Server: srv, Service: svc, Store: st, Sweeper: sw, rec: rec}
	if c.kv != nil { // dialled for the tenants' data keys (promptLogs)
		a.wrapper = keyWrapper{keyvaultv1.NewKeyWrapServiceClient(c.kv)}
		srv.Go("legacy system prompt sealing", func(ctx context.Context) error { a.runLegacySeal(ctx, log); return nil })
	}
	if c.kv != nil && c.keys != nil {
		// A crypto-shred made through keyvault alone drops the tenant's
		// key here at once, not after promptlog.KeyTTL (ADR 0084).
		w := tenantevents.NewShredWatcher(keyvaultv1.NewShredEventsServiceClient(c.kv), log, c.keys)
		srv.Go("keyvault shreds", func(ctx context.Context) error { w.Run(ctx); return nil })
	}
	srv.OnShutdown(func(context.Context) error {
		rec.Close()
		errs := []error{st.Close()}
		for _, cl := range c.closers {
			errs = append(errs, cl())
		}
		return errors.Join(errs...)
	})
	return a, nil
}

// serviceParts are what New built before the service.
type serviceParts struct {
	models  *registry.File
	reg     *registry.Registry
	st      *store.Store
	rec     *store.Recorder
	log     *slog.Logger
	promReg *prometheus.Registry
}

// newService assembles the domain service: providers (with the upstream
// key reader when a model needs one), tool policy, quota, prompt logs and
// stored responses, and retrieval.
func newService(ctx context.Context, o Options, c *conns, p serviceParts) (*inference.Service, error) {
	secretReader := o.Secrets
	if secretReader == nil && usesSecrets(p.models) {
		var err error
		if secretReader, err = c.secretCache(o, p.promReg); err != nil {
			return nil, err
		}
	}
	providers, err := buildProviders(ctx, p.models, p.reg, o.HTTPTransport, secretReader, p.log)
	if err != nil {
		return nil, err
	}
	tools, err := loadTools(o)
	if err != nil {
		return nil, err
	}
	enf, err := c.quota(p.st, p.rec, p.log)
	if err != nil {
		return nil, err
	}
	prompts, stored, keys, err := c.promptLogs(p.reg, p.st)
	if err != nil {
		return nil, err
	}
	retriever, err := c.retriever()
	if err != nil {
		return nil, err
	}
	return inference.New(inference.Deps{
		Registry: p.reg, Providers: providers, Quota: enf, Tools: tools, Store: p.st, Recorder: p.rec,
		Metrics: inference.NewMetrics(p.promReg), Log: p.log, Prompts: prompts, Stored: stored, Keys: keys, Retriever: retriever,
		AuthLimits: authLimits(o.Auth), AuthLimitsTTL: o.AuthLimitsTTL,
	})
}

// promptLogs returns the prompt logger (nil unless a model logs prompts),
// the stored-response store and the tenants' data keys (which also seal
// assistants' system prompts). They share the tenant's data key. Prompt
// logging needs keyvault; stored responses ("store": true) and system
// prompts use it when it is configured and are refused without it (never
// stored in plaintext).
func (c *conns) promptLogs(reg *registry.Registry, st *store.Store) (*promptlog.Logger, *promptlog.Responses, *promptlog.Logger, error) {
	if !reg.AnyPromptLogging() && !c.hasKeyvault() {
		return nil, nil, nil, nil
	}
	conn, err := c.keyvault()
	if err != nil {
		return nil, nil, nil, err
	}
	keys := promptlog.New(st, secrets.KeyvaultKMS{Client: keyvaultv1.NewKmsServiceClient(conn)}, reg.PromptLogging)
	c.keys = keys
	stored := promptlog.NewResponses(keys, st)
	if reg.AnyPromptLogging() {
		return keys, stored, keys, nil
	}
	return nil, stored, keys, nil
}

// newSweeper returns the retention sweeper (issue 16), or nil: it runs on
// every replica, and a lease row lets one of them sweep at a time. A
// Config not built by Load (some tests) has no interval and no sweeper.
func newSweeper(cfg *config.Config, st *store.Store, reg *registry.Registry, log *slog.Logger, promReg *prometheus.Registry) (*retention.Sweeper, error) {
	if cfg.RetentionInterval <= 0 {
		return nil, nil
	}
	return retention.New(st, retention.Policy{
		RawUsage: cfg.UsageRawRetention, HourlyUsage: cfg.UsageHourlyRetention,
		PromptLogs: func(tenant string) time.Duration { return reg.PromptLogRetention(tenant, cfg.PromptLogRetention) },
	}, log, retention.Options{Interval: cfg.RetentionInterval, Registerer: promReg})
}

// loadModels reads the model registry: Options.Models, the models file, or
// the default models.
func loadModels(o Options) (*registry.File, *registry.Registry, error) {
	models := o.Models
	if models == nil {
		if o.Config.ModelsFile == "" {
			models = registry.Default()
		} else {
			var err error
			if models, err = registry.Load(o.Config.ModelsFile); err != nil {
				return nil, nil, err
			}
		}
	}
	reg, err := registry.New(models)
	if err != nil {
		return nil, nil, err
	}
	return models, reg, nil
}

// loadTools reads the tool policy: Options.Tools, the policy file, or none.
func loadTools(o Options) (*toolpolicy.Policy, error) {
	tf := o.Tools
	if tf == nil && o.Config.ToolPolicyFile != "" {
		var err error
		if tf, err = toolpolicy.Load(o.Config.ToolPolicyFile); err != nil {
			return nil, err
		}
	}
	return toolpolicy.New(tf)
}

// conns are the service's outgoing connections (keyvault and ingestion,
// dialled through pkg/backend's Dialer unless Options passes them) and the
// Redis client, with their closers.
type conns struct {
	ctx     context.Context
	cfg     *config.Config
	dialer  *backend.Dialer
	kv      grpc.ClientConnInterface
	ing     grpc.ClientConnInterface
	closers []func() error
	// keys caches the tenants' unwrapped data keys (set by promptLogs):
	// the shred watcher drops a crypto-shredded tenant's key (ADR 0084).
	keys *promptlog.Logger
}

func newConns(ctx context.Context, o Options) *conns {
	dialer := o.Dialer
	if dialer == nil && o.TLS != nil {
		dialer = &backend.Dialer{TLS: o.TLS}
	}
	return &conns{ctx: ctx, cfg: o.Config, dialer: dialer, kv: o.Keyvault, ing: o.Ingestion}
}

// close closes what was opened (New failed).
func (c *conns) close() {
	for _, cl := range c.closers {
		_ = cl()
	}
}

// hasKeyvault reports whether keyvault is configured.
func (c *conns) hasKeyvault() bool {
	return c.kv != nil || (c.cfg.KeyvaultAddr != "" && c.dialer != nil)
}

// keyvault returns the connection to keyvault, dialled on first use (the
// connection is lazy): an upstream key in keyvault, prompt logging and
// stored responses need it.
func (c *conns) keyvault() (grpc.ClientConnInterface, error) {
	if c.kv != nil {
		return c.kv, nil
	}
	if c.cfg.KeyvaultAddr == "" || c.dialer == nil {
		return nil, errors.New("inference: keyvault is needed (api_key_secret or prompt logging) but RAMPART_KEYVAULT_ADDR or the TLS source is not set")
	}
	conn, err := c.dialer.Dial(c.ctx, "keyvault", c.cfg.KeyvaultAddr)
	if err != nil {
		return nil, fmt.Errorf("inference: %w", err)
	}
	c.closers = append(c.closers, conn.Close)
	c.kv = conn
	return conn, nil
}

// secretCache is the cached keyvault reader of upstream API keys.
func (c *conns) secretCache(o Options, promReg *prometheus.Registry) (upstreamkey.Reader, error) {
	conn, err := c.keyvault()
	if err != nil {
		return nil, err
	}
	return secrets.NewCache(secrets.NewKeyvault(conn, secrets.KeyvaultOptions{Assertion: o.KeyvaultAssertion}),
		secrets.CacheOptions{Name: "inference_upstream_keys", TTL: c.cfg.SecretsCacheTTL, Registerer: promReg})
}

// quota is the token quota enforcer over the usage store, shared through
// Redis when RAMPART_REDIS_URL or RAMPART_REDIS_CLUSTER_URL is set (every
// multi-key script keeps its keys under the tenant's hash tag, ADR 0095).
func (c *conns) quota(st *store.Store, rec *store.Recorder, log *slog.Logger) (*quota.Enforcer, error) {
	enf := quota.New(func(ctx context.Context, tenant, key string, since time.Time) (int64, error) {
		if err := rec.Flush(ctx); err != nil {
			return 0, err
		}
		return st.TokensSince(ctx, tenant, key, since)
	})
	rc, err := c.cfg.RedisClient()
	if err != nil {
		return nil, fmt.Errorf("inference: %w", err)
	}
	if rc == nil {
		return enf, nil
	}
	c.closers = append(c.closers, rc.Close)
	enf.SetShared(quota.NewRedisBuckets(rc), redisErrorLogger(log))
	return enf, nil
}

// retriever searches ingestion for grounded chats; nil when ingestion is
// not configured. grpc.NewClient connects lazily: ingestion need not be up.
func (c *conns) retriever() (*rag.Retriever, error) {
	if c.ing == nil && c.cfg.IngestionAddr != "" && c.dialer != nil {
		conn, err := c.dialer.Dial(c.ctx, "ingestion", c.cfg.IngestionAddr)
		if err != nil {
			return nil, fmt.Errorf("inference: %w", err)
		}
		c.closers = append(c.closers, conn.Close)
		c.ing = conn
	}
	if c.ing == nil {
		return nil, nil
	}
	return &rag.Retriever{Client: ingestionv1.NewIngestionServiceClient(c.ing)}, nil
}

// StreamWorkers reuses handler goroutines, which keep their grown stacks:
// without them every call paid a stack copy (≈5% of CPU in the profile).
// pkg/serve now starts serve.DefaultStreamWorkers for every service (issue
// 15: the earlier 4 per core left most calls at concurrency 64 on fresh
// goroutines); this option stays for the servers built here.
func StreamWorkers() grpc.ServerOption {
	return grpc.NumStreamWorkers(serve.DefaultStreamWorkers())
}

// PrincipalExempt are the methods callable without a principal assertion
// besides health and reflection: EmbedForTenant, which only ingestion may
// call (authz allow-list) for jobs that outlive assertions (ADR 0023).
// Production (pkg/backend) and newServer both use it.
func PrincipalExempt() []string {
	return []string{inferencev1.InferenceService_EmbedForTenant_FullMethodName}
}

// newServer creates the gRPC server for in-process use (tests and
// internal/servertest): the same interceptors pkg/backend installs in production.
func newServer(o Options, log *slog.Logger, promReg *prometheus.Registry) (*serve.Server, error) {
	cfg := o.Config
	// Every call needs a principal except health and reflection (the
	// default exemptions) and EmbedForTenant, which only ingestion may call
	// (authz allow-list) for jobs that outlive assertions (ADR 0023);
	// verified assertions are cached until expiry.
	verifier := principal.NewVerifier(o.Keys, principal.WithCache(100_000), principal.WithAudience(config.Service))
	exempt := principal.ExemptMethods(PrincipalExempt()...)
	policy := o.AuthzPolicy
	if policy == nil && cfg.AuthzPolicy == "" {
		policy = config.DefaultAuthzPolicy()
	}
	return serve.New(serve.Options{
		Name: config.Service, ListenAddr: cfg.ListenAddr, AdminAddr: cfg.AdminAddr, TLS: o.TLS,
		AuthzPolicy: policy, AuthzPolicyFile: cfg.AuthzPolicy,
		Logger: log, Registry: promReg, Reflection: cfg.Reflection(), Pprof: cfg.Pprof, DrainDelay: o.DrainDelay,
		ExtraUnary:    []grpc.UnaryServerInterceptor{principal.UnaryServerInterceptor(verifier, exempt)},
		ExtraStream:   []grpc.StreamServerInterceptor{principal.StreamServerInterceptor(verifier, exempt)},
		ServerOptions: []grpc.ServerOption{StreamWorkers()},
	})
}

// Run serves until ctx ends, then shuts down in order.
func (a *App) Run(ctx context.Context) error { return a.Server.Run(ctx) }

// redisErrorLogger reports shared-quota failures at most every 10 s (the
// replica's own buckets decide meanwhile).
func redisErrorLogger(log *slog.Logger) func(error) {
	var last atomic.Int64
	return func(err error) {
		now := time.Now().UnixNano()
		if prev := last.Load(); now-prev < int64(10*time.Second) || !last.CompareAndSwap(prev, now) {
			return
		}
		log.Warn("shared quota store (redis) failed; using this replica's counters", "error", err.Error())
	}
}

// usesSecrets reports whether an upstream's API key is a keyvault secret.
func usesSecrets(f *registry.File) bool {
	for _, u := range f.Upstreams {
		if u.APIKeySecret != "" {
			return true
		}
	}
	return false
}

// newBedrock builds a Bedrock provider (the AWS SDK's configuration and
// client); a variable so that tests can see it is called only for a
// bedrock upstream: an idle inference without one pays nothing for the SDK
// but its package initialisers (ADR 0087).
var newBedrock = bedrock.New

func buildProviders(ctx context.Context, f *registry.File, reg *registry.Registry, rt http.RoundTripper, sec upstreamkey.Reader, log *slog.Logger) (map[string]provider.Provider, error) {
	out := map[string]provider.Provider{"local": local.New()}
	var errs []error
	for _, name := range reg.Upstreams() {
		if name == "local" {
			continue
		}
		u := f.Upstreams[name]
		key, err := u.APIKey()
		if err != nil {
			errs = append(errs, fmt.Errorf("upstream %s: %w", name, err))
			continue
		}
		switch u.Type {
		case "openai":
			oc := openai.Config{BaseURL: u.BaseURL, APIKey: key, Timeout: u.TimeoutDuration(), MaxRetries: u.MaxRetries, Transport: rt}
			if u.APIKeySecret != "" {
				if sec == nil {
					errs = append(errs, fmt.Errorf("upstream %s: api_key_secret needs keyvault", name))
					continue
				}
				oc.Credentials = upstreamkey.New(sec, u.APIKeySecret, u.APIKeySecretField, name, log)
			}
			p, err := openai.New(oc)
			if err != nil {
				errs = append(errs, fmt.Errorf("upstream %s: %w", name, err))
				continue
			}
			out[name] = p
		case "bedrock":
			p, err := newBedrock(ctx, bedrock.Config{Region: u.Region, Endpoint: u.BaseURL, Timeout: u.TimeoutDuration(), MaxRetries: u.MaxRetries})
			if err != nil {
				errs = append(errs, fmt.Errorf("upstream %s: %w", name, err))
				continue
			}
			out[name] = p
		default:
			errs = append(errs, fmt.Errorf("upstream %s: type must be openai or bedrock, got %q", name, u.Type))
		}
	}
	return out, errors.Join(errs...)
}
