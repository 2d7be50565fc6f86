package app

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	ingestionv1 "github.com/rampart-platform/rampart/gen/go/rampart/ingestion/v1"
	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/pkg/backend"
	"github.com/rampart-platform/rampart/pkg/secrets"
	pstore "github.com/rampart-platform/rampart/pkg/store"
	"github.com/rampart-platform/rampart/pkg/tenantevents"
	"github.com/rampart-platform/rampart/services/ingestion/internal/chunk"
	"github.com/rampart-platform/rampart/services/ingestion/internal/config"
	"github.com/rampart-platform/rampart/services/ingestion/internal/embed"
	"github.com/rampart-platform/rampart/services/ingestion/internal/fetch"
	"github.com/rampart-platform/rampart/services/ingestion/internal/index"
	"github.com/rampart-platform/rampart/services/ingestion/internal/ingest"
	"github.com/rampart-platform/rampart/services/ingestion/internal/keyring"
	"github.com/rampart-platform/rampart/services/ingestion/internal/server"
	"github.com/rampart-platform/rampart/services/ingestion/internal/store"
)

// GRPCOptions are the gRPC server options ingestion needs: requests carry
// documents up to ingest.MaxContentBytes plus framing.
func GRPCOptions() []grpc.ServerOption {
	return []grpc.ServerOption{grpc.MaxRecvMsgSize(ingest.MaxContentBytes + 64<<10)}
}

// App is the assembled service without its gRPC server: tests and Run
// share it.
type App struct {
	Service *ingest.Service
	Store   *store.Store
	Lexical *index.Lexical
	// Ring caches the tenants' unwrapped data keys; the shred watcher
	// drops a crypto-shredded tenant's key from it (ADR 0084).
	Ring *keyring.Ring
}

// Build opens the store under dataDir and assembles the domain; secrets
// (keyvault) may be nil, which turns data-source connections off; models
// (inference) may be nil, which leaves only rampart-hash-embed collections.
//
// reg (pkg/backend's registry, served on the admin port) gets ingestion's
// metrics (ingest.Metrics); nil leaves them unregistered.
func Build(ctx context.Context, cfg *config.Config, dataDir string, kms keyring.KMS, secrets ingest.Secrets, models ingest.TenantEmbedder, log *slog.Logger, onDone func(tenant, job string, state int), reg prometheus.Registerer) (*App, error) {
	st, err := openStore(ctx, cfg, dataDir, log)
	if err != nil {
		return nil, err
	}
	lex := index.NewLexical(filepath.Join(dataDir, "index"))
	ring := keyring.New(kms, st, cfg.KeyCacheSize, cfg.KeyTTL)
	svc := ingest.New(ingest.Options{
		Store:     st,
		Ring:      ring,
		Lexical:   lex,
		Vectors:   index.NewVectors(cfg.VectorCollections).WithANN(cfg.ANNThreshold),
		Embedder:  embed.Hash{Dims: cfg.EmbedDims},
		Fetcher:   fetch.New(fetch.Options{AllowPrivate: cfg.AllowPrivate, MaxBytes: ingest.MaxContentBytes, Timeout: cfg.FetchTimeout}),
		Chunk:     chunk.Options{Tokens: cfg.ChunkTokens, Overlap: cfg.ChunkOverlap},
		Workers:   cfg.Workers,
		Secrets:   secrets,
		SecretEnv: cfg.Profile,
		Log:       log,
		OnJobDone: onDone,
		Metrics:   ingest.NewMetrics(reg),
		Models:    models,
		// RetryDelay: the first wait of a job whose embedding model was
		// unavailable (doubled per attempt).
		RetryDelay: cfg.EmbedRetryDelay,
		Replica:    cfg.Replica,
		JobLease:   cfg.JobLease,
		// CrawlMaxPages: the most pages one crawl may ask for.
		CrawlMaxPages: cfg.CrawlMaxPages,
		// Rechunk: documents of an older chunker re-chunked at once (0: off).
		Rechunk: rechunkOption(cfg.Rechunk),
	})
	return &App{Service: svc, Store: st, Lexical: lex, Ring: ring}, nil
}

// openStore opens the SQLite file in the data dir, or PostgreSQL when
// DATABASE_URL is set (pkg/store.OpenServiceStore): a PostgreSQL that
// cannot be reached (or is migrated beyond this binary) stops the start,
// so the service never becomes ready; the error names the setting and
// shows the URL without its password.
func openStore(ctx context.Context, cfg *config.Config, dataDir string, log *slog.Logger) (*store.Store, error) {
	return pstore.OpenServiceStore(ctx,
		pstore.ServiceDB{Service: "ingestion", URL: cfg.DatabaseURL, MaxConns: cfg.DBMaxConns, StatementTimeout: cfg.DBStatementTimeout, Log: log},
		func(ctx context.Context) (*store.Store, error) {
			return store.Open(ctx, filepath.Join(dataDir, "ingestion.db"))
		}, store.OpenPostgres)
}

// Close closes the index and the store.
func (a *App) Close() error { return errors.Join(a.Lexical.Close(), a.Store.Close()) }

// Run starts ingestion on pkg/backend's shared start-up path (config,
// logs, mTLS with hot reload, authz, principal verification with auth's
// keys, shutdown order) and blocks until ctx ends; "healthcheck" as the
// first argument checks a running instance instead, "migrate" brings its
// database schema up to date.
func Run(ctx context.Context, args []string) error {
	cfg := config.Default()
	spec := backend.Spec{Name: "ingestion", DefaultPolicy: server.DefaultPolicy(), ServerOptions: GRPCOptions()}
	spec.Migrate = func(ctx context.Context, log *slog.Logger) error {
		st, err := openStore(ctx, cfg, cfg.DataDir, log)
		if err != nil {
			return err
		}
		return st.Close()
	}
	return backend.Run(ctx, spec, cfg, args, func(ctx context.Context, env *backend.Env) error {
		return setup(ctx, env, cfg)
	})
}

// setup dials keyvault, inference and auth, builds the service, registers
// its handlers and starts the worker pool, the tenant-event stream and the
// shred stream as tasks; a failure closes what was opened before it.
func setup(ctx context.Context, env *backend.Env, cfg *config.Config) error {
	kv, err := env.Dial(ctx, "keyvault")
	if err != nil {
		return err
	}
	// Inference embeds for collections with a registry model
	// (EmbedForTenant; RAMPART_INFERENCE_ADDR). The connection is lazy:
	// ingestion starts without inference and such jobs retry.
	inf, err := env.Dial(ctx, "inference")
	if err != nil {
		_ = kv.Close()
		return err
	}
	app, err := Build(ctx, cfg, env.Common.DataDir, secrets.KeyvaultKMS{Client: keyvaultv1.NewKmsServiceClient(kv)},
		KeyvaultSecrets{Client: keyvaultv1.NewSecretsServiceClient(kv), Admin: keyvaultv1.NewTenantAdminServiceClient(kv)}, &embed.Remote{Client: inferencev1.NewInferenceServiceClient(inf)}, env.Log, nil, env.Registry)
	if err != nil {
		_ = kv.Close()
		_ = inf.Close()
		return err
	}
	auth, err := env.Dial(ctx, "auth")
	if err != nil {
		_ = kv.Close()
		_ = inf.Close()
		_ = app.Close()
		return err
	}
	ingestionv1.RegisterIngestionServiceServer(env.Server.GRPC(), server.NewIngestion(app.Service, env.Log))
	// The tasks are cancelled and awaited after gRPC drained, before
	// the closer below.
	env.OnShutdown(func(context.Context) error {
		return errors.Join(app.Close(), kv.Close(), inf.Close(), auth.Close())
	})
	env.Go("ingestion workers", func(ctx context.Context) error {
		// A failure is logged and the service keeps serving (search and
		// uploads still work), as before the task runner.
		if err := app.Service.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			env.Log.Error("ingestion workers stopped", "err", err)
		}
		return nil
	})
	env.Go("tenant events", func(ctx context.Context) error {
		w := tenantevents.New(authv1.NewAuthServiceClient(auth), app.Service.Purge, app.Store, env.Log)
		// A suspended (or deleted) tenant's data key is dropped at once,
		// so its queued jobs are not claimed until a request of the
		// resumed tenant loads it again, not after KEY_TTL (ADR 0115),
		// and its running jobs stop and are queued again (ADR 0123 §1).
		w.Suspended = app.Service.SuspendTenant
		// A member removed or lowered to viewer: her data-source grants'
		// tokens are deleted and the connections with them (ADR 0132 §1).
		w.MemberLeft = app.Service.MemberLeft
		w.Run(ctx)
		return nil
	})
	// A crypto-shred made through keyvault alone drops the tenant's key
	// here at once, not after KEY_TTL (ADR 0084).
	env.Go("keyvault shreds", func(ctx context.Context) error {
		tenantevents.NewShredWatcher(keyvaultv1.NewShredEventsServiceClient(kv), env.Log, app.Ring).Run(ctx)
		return nil
	})
	return nil
}

// rechunkOption is the setting's value for ingest.Options.Rechunk, whose
// zero is the default: off is negative there.
func rechunkOption(n int) int {
	if n == 0 {
		return -1
	}
	return n
}
