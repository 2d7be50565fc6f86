package app

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"google.golang.org/grpc"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/pkg/awsclient"
	"github.com/rampart-platform/rampart/pkg/backend"
	pkgconfig "github.com/rampart-platform/rampart/pkg/config"
	"github.com/rampart-platform/rampart/pkg/principal"
	"github.com/rampart-platform/rampart/pkg/serve"
	pstore "github.com/rampart-platform/rampart/pkg/store"

	"github.com/rampart-platform/rampart/pkg/tenantevents"
	"github.com/rampart-platform/rampart/services/keyvault/internal/audit"
	"github.com/rampart-platform/rampart/services/keyvault/internal/auditarchive"
	"github.com/rampart-platform/rampart/services/keyvault/internal/authclient"
	"github.com/rampart-platform/rampart/services/keyvault/internal/awssm"
	"github.com/rampart-platform/rampart/services/keyvault/internal/config"
	"github.com/rampart-platform/rampart/services/keyvault/internal/kms"
	"github.com/rampart-platform/rampart/services/keyvault/internal/policy"
	"github.com/rampart-platform/rampart/services/keyvault/internal/server"
	"github.com/rampart-platform/rampart/services/keyvault/internal/store"
	"github.com/rampart-platform/rampart/services/keyvault/internal/vault"
)

// DefaultAuthz is the per-method caller allow-list; the secrets policy then
// decides per secret name and action.
var DefaultAuthz = []byte(`{"rules": [
 {"methods": ["/rampart.keyvault.v1.SecretsService/*"],
  "callers": ["spiffe://rampart.local/svc/edge", "spiffe://rampart.local/svc/rampart-cli", "spiffe://rampart.local/svc/slackadapter",
              "spiffe://rampart.local/svc/inference", "spiffe://rampart.local/svc/ingestion", "spiffe://rampart.local/svc/auth"]},
 {"methods": ["/rampart.keyvault.v1.KmsService/*"],
  "callers": ["spiffe://rampart.local/svc/ingestion", "spiffe://rampart.local/svc/inference", "spiffe://rampart.local/svc/edge",
              "spiffe://rampart.local/svc/rampart-cli"]},
 {"methods": ["/rampart.keyvault.v1.ObservabilityService/*"],
  "callers": ["spiffe://rampart.local/svc/edge", "spiffe://rampart.local/svc/rampart-cli"]},
 {"methods": ["/rampart.keyvault.v1.TenantAdminService/ShredTenant"],
  "callers": ["spiffe://rampart.local/svc/auth", "spiffe://rampart.local/svc/rampart-cli"]},
 {"methods": ["/rampart.keyvault.v1.TenantAdminService/DeleteServiceSecret"],
  "callers": ["spiffe://rampart.local/svc/ingestion"]},
 {"methods": ["/rampart.keyvault.v1.KeyWrapService/*"],
  "callers": ["spiffe://rampart.local/svc/inference"]},
 {"methods": ["/rampart.keyvault.v1.ShredEventsService/*"],
  "callers": ["spiffe://rampart.local/svc/ingestion", "spiffe://rampart.local/svc/inference"]}
]}`)

// ExemptMethods need no principal assertion: TenantAdminService acts on a
// tenant named in the request (one auth may already have purged; a
// service's own secret of a tenant that is not calling, ADR 0132 §1),
// KeyWrapService makes fresh keys for a tenant that is not calling (ADR
// 0077), and ShredEventsService streams every tenant's shreds to the
// services caching data keys (ADR 0084); the allow-list above is their
// guard.
var ExemptMethods = []string{"/rampart.keyvault.v1.TenantAdminService/*", "/rampart.keyvault.v1.KeyWrapService/*",
	"/rampart.keyvault.v1.ShredEventsService/*"}

// GCPercent is keyvault's default GOGC: the request path's, as the edge's
// and inference's (ADR 0101).
const GCPercent = 4 * serve.RequestPathGCPercent

// Run runs keyvault until ctx ends (or, with "healthcheck" as the first
// argument, checks a running instance), on the shared start-up path of
// pkg/backend.
func Run(ctx context.Context, args []string) error {
	cfg := config.Config{Common: pkgconfig.Defaults("keyvault")}
	spec := backend.Spec{Name: "keyvault", DefaultPolicy: DefaultAuthz, PrincipalExempt: ExemptMethods,
		// A secret read is on the request path too (issue 15): a live heap
		// of ~6 MB once the start-up garbage is gone (pkg/memtrim) and ~9 KB
		// allocated per read. At 200 the collector was ~17 % of keyvault's
		// instructions per read; at 800, the edge's and inference's, 4.5k
		// of 96k instead of 19.6k of 116k, for a heap goal of ~54 MB under
		// load (ADR 0101). GOGC and GOMEMLIMIT still win.
		GCPercent: GCPercent,
		// Fixed HTTP/2 windows (no BDP PING per read, ADR 0055) are
		// pkg/serve's default for every service since ADR 0054.
		// A secret read's answer encoded by hand (ADR 0091).
		ServerOptions: []grpc.ServerOption{server.Codec()},
	}
	spec.Migrate = func(ctx context.Context, log *slog.Logger) error {
		st, err := openStore(ctx, cfg, log)
		if err != nil {
			return err
		}
		return st.Close()
	}
	return backend.Run(ctx, spec, &cfg, args, func(ctx context.Context, env *backend.Env) error {
		return setup(ctx, env, cfg)
	})
}

// setup opens the stores, wires the services and starts the background
// loops. Closers registered with OnShutdown run in reverse order, so the
// loops stop before the audit sink and the store close.
func setup(ctx context.Context, env *backend.Env, cfg config.Config) error {
	log, srv := env.Log, env.Server
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	srv.OnShutdown(func(context.Context) error { return st.Close() })
	awsCfg, provider, err := openKMS(ctx, cfg, st)
	if err != nil {
		return err
	}
	key, err := audit.LoadOrCreateKey(keyDir(cfg))
	if err != nil {
		return err
	}
	sink, err := openAuditSink(cfg, st, srv)
	if err != nil {
		return err
	}
	archiver, err := openArchiver(ctx, cfg, st, log)
	if err != nil {
		return err
	}
	pol, err := policy.NewHolder(cfg.SecretsPolicy, cfg.Env, log)
	if err != nil {
		return err
	}
	authConn, remote, err := dialAuth(ctx, env, cfg)
	if err != nil {
		return err
	}
	svc := vault.New(vault.Options{
		Store: st, Envelope: kms.NewEnvelope(provider, st), Audit: sink, Hasher: audit.NewHasher(key), Policy: pol,
		Log: log, Metrics: vault.NewMetrics(env.Registry), MaxVersions: cfg.MaxVersions, WebhookAllow: cfg.WebhookAllow,
		KeyAuthority: authclient.New(authConn), Replica: replicaName(cfg.DataDir),
	})
	var backend server.SecretsBackend = svc
	var observer server.Observer = svc
	if cfg.Backend == "awssm" {
		prefix := "" // local KMS: tenants have no AWS key of their own
		if cfg.KMS == "awskms" {
			prefix = cfg.KMSAliasPrefix
			if prefix == "" {
				prefix = kms.DefaultAliasPrefix
			}
		}
		b := awssm.New(awsCfg, svc, prefix)
		if tk, ok := provider.(awssm.TenantKeys); ok {
			// KMS=awskms: a secret without kms_key_id is under the
			// tenant's own key, which its crypto-shred deletes (ADR 0069 §5).
			b = b.WithTenantKeys(tk)
		}
		backend, observer = b, b
	}
	keyvaultv1.RegisterSecretsServiceServer(srv.GRPC(), server.NewSecrets(backend, log))
	keyvaultv1.RegisterKmsServiceServer(srv.GRPC(), server.NewKMS(svc, log))
	keyvaultv1.RegisterObservabilityServiceServer(srv.GRPC(), server.NewObservability(observer, log))
	keyvaultv1.RegisterTenantAdminServiceServer(srv.GRPC(), server.NewTenantAdmin(svc, log))
	keyvaultv1.RegisterKeyWrapServiceServer(srv.GRPC(), server.NewKeyWrap(svc, log))
	keyvaultv1.RegisterShredEventsServiceServer(srv.GRPC(), server.NewShredEvents(svc, log, srv.Draining()))

	// Rotations interrupted by a crash finish before traffic is served.
	if err := svc.ResumeRotations(ctx); err != nil {
		log.Error("resume rotations", "err", err)
	}
	startLoops(env, cfg, loops{svc: svc, st: st, pol: pol, remote: remote, auth: authConn, archiver: archiver})
	return nil
}

// openKMS loads the AWS configuration when a backend needs it and opens the
// KMS provider: AWS KMS, or local keys in the key directory.
func openKMS(ctx context.Context, cfg config.Config, st *store.Store) (aws.Config, kms.Provider, error) {
	var awsCfg aws.Config
	if cfg.Backend == "awssm" || cfg.KMS == "awskms" {
		var err error
		if awsCfg, err = loadAWS(ctx, cfg); err != nil {
			return awsCfg, nil, err
		}
	}
	if cfg.KMS == "awskms" {
		return awsCfg, kms.NewAWSKMSFromConfig(awsCfg, cfg.KMSAliasPrefix), nil
	}
	provider, err := kms.OpenLocal(keyDir(cfg), st)
	return awsCfg, provider, err
}

// openAuditSink opens the audit log: the chain in the database when
// replicas share PostgreSQL (a local file would split the log per replica),
// otherwise the file (closed at shutdown).
func openAuditSink(cfg config.Config, st *store.Store, srv *serve.Server) (audit.Sink, error) {
	if st.Dialect() == pstore.Postgres && cfg.AuditLog == "" {
		chain := audit.NewChainSink(st)
		srv.OnShutdown(func(context.Context) error { return chain.Close() })
		return chain, nil
	}
	auditPath := cfg.AuditLog
	if auditPath == "" {
		auditPath = filepath.Join(cfg.DataDir, "audit.log")
	}
	file, err := audit.OpenFile(auditPath, cfg.AuditFsync)
	if err != nil {
		return nil, err
	}
	srv.OnShutdown(func(context.Context) error { return file.Close() })
	return file, nil
}

// openArchiver returns the audit archiver when AUDIT_RETENTION is set.
// It applies to the audit chain in the database (PostgreSQL); an audit
// file is the operator's to rotate.
func openArchiver(ctx context.Context, cfg config.Config, st *store.Store, log *slog.Logger) (*auditarchive.Archiver, error) {
	if cfg.AuditRetention == 0 {
		return nil, nil
	}
	if st.Dialect() != pstore.Postgres || cfg.AuditLog != "" {
		log.Warn("AUDIT_RETENTION applies to the audit chain in PostgreSQL; the audit log file is kept as it is")
		return nil, nil
	}
	sink, err := auditarchive.Open(cfg.AuditArchive, func() (aws.Config, error) { return loadAWS(ctx, cfg) })
	if err != nil {
		return nil, fmt.Errorf("AUDIT_ARCHIVE: %w", err)
	}
	log.Info("audit links older than the retention are archived", "retention_s", int64(cfg.AuditRetention.Seconds()), "archive", sink.String())
	return &auditarchive.Archiver{Store: st, Sink: sink, Retention: cfg.AuditRetention, Log: log}, nil
}

// dialAuth opens the lazy connection to auth (closed at shutdown): it
// serves the principal keys (unless a static key file is configured, then
// remote is nil), the tenant event stream and the rampart-api-key rotation
// function.
func dialAuth(ctx context.Context, env *backend.Env, cfg config.Config) (*grpc.ClientConn, *principal.RemoteKeys, error) {
	authConn, err := env.Dialer().Dial(ctx, "auth", cfg.AuthAddr)
	if err != nil {
		return nil, nil, err
	}
	env.Server.OnShutdown(func(context.Context) error { return authConn.Close() })
	if cfg.PrincipalKeys != "" {
		keys, err := loadStaticKeys(cfg.PrincipalKeys)
		if err != nil {
			return nil, nil, err
		}
		env.UseKeys(keys)
		return authConn, nil, nil
	}
	remote := principal.NewRemoteKeys(authv1.NewAuthServiceClient(authConn), env.Log)
	env.UseKeys(remote)
	return authConn, remote, nil
}

// loops are what the background loops work on.
type loops struct {
	svc    *vault.Service
	st     *store.Store
	pol    *policy.Holder
	remote *principal.RemoteKeys // nil with static principal keys
	auth   *grpc.ClientConn
	// archiver moves old audit links to the archive (nil: kept forever).
	archiver *auditarchive.Archiver
}

// startLoops starts the background loops as backend tasks: policy
// reload, principal keys, the scheduler and, when enabled, auth's tenant
// events. At shutdown they are cancelled and awaited after gRPC drained
// and before any closer runs; then the buffered access times are flushed
// (a closer registered last, so it runs first), and only then do the
// audit sink and the store close: a scheduled rotation or a tenant shred
// never writes to a closed store.
func startLoops(env *backend.Env, cfg config.Config, l loops) {
	log := env.Log
	env.OnShutdown(l.svc.FlushAccess)
	env.Go("policy reload", func(ctx context.Context) error { l.pol.Watch(ctx, 2*time.Second); return nil })
	if l.remote != nil {
		env.Go("principal keys", func(ctx context.Context) error { l.remote.Run(ctx, time.Minute); return nil })
	}
	env.Go("shred watchers", func(ctx context.Context) error { l.svc.FollowShreds(ctx, vault.ShredPollInterval); return nil })
	env.Go("scheduler", func(ctx context.Context) error {
		background(ctx, l.svc, l.st, l.archiver, cfg.SchedulerInterval, log)
		return nil
	})
	if cfg.TenantEvents {
		shred := func(ctx context.Context, tenant string) error {
			_, err := l.svc.ShredTenant(ctx, "auth/tenant-purged", tenant)
			return err
		}
		events := tenantevents.New(authv1.NewAuthServiceClient(l.auth), shred, l.st, log)
		env.Go("tenant events", func(ctx context.Context) error { events.Run(ctx); return nil })
	}
}

// openStore opens the SQLite file in the data dir (locked: one keyvault
// process per data dir), or PostgreSQL when DATABASE_URL is set
// (pkg/store.OpenServiceStore): a PostgreSQL that cannot be reached or is
// migrated beyond this binary stops the start (the service never becomes
// ready); the error names the setting and shows the URL without its
// password.
func openStore(ctx context.Context, cfg config.Config, log *slog.Logger) (*store.Store, error) {
	return pstore.OpenServiceStore(ctx,
		pstore.ServiceDB{Service: "keyvault", URL: cfg.DatabaseURL, MaxConns: cfg.DBMaxConns, StatementTimeout: cfg.DBStatementTimeout, Log: log},
		func(ctx context.Context) (*store.Store, error) { return store.OpenOwned(ctx, cfg.DataDir) }, store.OpenPostgres)
}

// loadDefaultAWSConfig is the AWS SDK's configuration loader; a variable
// so that tests can see it is called only when a backend, KMS or the audit
// archive is AWS (ADR 0087: nothing of the SDK is built otherwise).
var loadDefaultAWSConfig = awsconfig.LoadDefaultConfig

// loadAWS reads the SDK's usual configuration (environment, shared files,
// instance role) with the configured region and endpoint override.
func loadAWS(ctx context.Context, cfg config.Config) (aws.Config, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if cfg.AWSRegion != "" {
		opts = append(opts, awsconfig.WithRegion(cfg.AWSRegion))
	}
	c, err := loadDefaultAWSConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("aws config: %w", err)
	}
	if cfg.AWSEndpoint != "" {
		c.BaseEndpoint = aws.String(cfg.AWSEndpoint)
	}
	if c.HTTPClient != nil {
		c.HTTPClient = awsclient.HTTPClient(c.HTTPClient)
	}
	return c, nil
}

// keyDir is where master.key and audit.key live: KEY_DIR, else the data
// dir. Replicas share the files (a Secret mounted read-only): a key that is
// missing there is created only where the directory is writable.
func keyDir(cfg config.Config) string {
	if cfg.KeyDir != "" {
		return cfg.KeyDir
	}
	return cfg.DataDir
}

// replicaName names this replica in rotation leases: the same across its
// restarts (host name and data dir), different for two replicas on one
// host.
func replicaName(dataDir string) string {
	host, _ := os.Hostname()
	if abs, err := filepath.Abs(dataDir); err == nil {
		dataDir = abs
	}
	return host + ":" + dataDir
}

// background runs the leased scheduler (due rotations, expired deletions,
// audit archiving) and flushes access times: two tickers in one goroutine,
// so a flush never runs beside the scheduler (not pkg/periodic; ADR 0136).
func background(ctx context.Context, svc *vault.Service, st *store.Store, archiver *auditarchive.Archiver, every time.Duration, log *slog.Logger) {
	var b [8]byte
	_, _ = rand.Read(b[:])
	holder, _ := os.Hostname()
	holder += "/" + hex.EncodeToString(b[:])
	flush := time.NewTicker(5 * time.Second)
	sched := time.NewTicker(every)
	defer flush.Stop()
	defer sched.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-flush.C:
			if err := svc.FlushAccess(ctx); err != nil {
				log.Warn("flush access times", "err", err)
			}
		case <-sched.C:
			now := time.Now()
			ok, err := st.TryLease(ctx, "scheduler", holder, now, now.Add(3*every))
			if err != nil || !ok {
				continue
			}
			// Rotations a dead replica left behind (their lease expired).
			if err := svc.ResumeRotations(ctx); err != nil {
				log.Error("resume rotations", "err", err)
			}
			if n, err := svc.RunDueRotations(ctx); err != nil {
				log.Error("scheduled rotations", "err", err, "done", n)
			}
			if _, err := svc.PurgeExpired(ctx); err != nil {
				log.Error("purge deleted secrets", "err", err)
			}
			if archiver != nil {
				if n, err := archiver.Run(ctx); err != nil {
					log.Error("archive audit links", "err", err, "archived", n)
				}
			}
		}
	}
}

func loadStaticKeys(path string) (principal.StaticKeys, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("principal keys: %w", err)
	}
	var m map[string]string
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("principal keys: %w", err)
	}
	out := principal.StaticKeys{}
	for kid, b := range m {
		k, err := base64.StdEncoding.DecodeString(b)
		if err != nil || len(k) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("principal keys: key %q is not a base64 Ed25519 public key", kid)
		}
		out[kid] = ed25519.PublicKey(k)
	}
	return out, nil
}
