package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"time"

	"google.golang.org/grpc"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	slackadapterv1 "github.com/rampart-platform/rampart/gen/go/rampart/slackadapter/v1"
	"github.com/rampart-platform/rampart/pkg/backend"
	pstore "github.com/rampart-platform/rampart/pkg/store"
	"github.com/rampart-platform/rampart/pkg/tenantevents"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/appsecrets"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/bot"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/config"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/keyring"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/platform"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/server"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/slackapi"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/store"
)

// Spec is the service's pkg/backend spec: internal/server's allow-list
// and the methods it authenticates without a Rampart principal.
func Spec() backend.Spec {
	return backend.Spec{Name: config.Service, DefaultPolicy: server.DefaultPolicy(), PrincipalExempt: server.PrincipalExempt}
}

// Hooks let tests reach inside the assembled service.
type Hooks struct {
	// SlackHTTP is the HTTP client for Slack (tests: the fake's transport).
	SlackHTTP *http.Client
	// Sleep replaces Retry-After waits.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock.
	Now func() time.Time
	// AllowHTTPResponseURL admits http:// response URLs (the fake Slack).
	AllowHTTPResponseURL bool
	// Started receives the assembled adapter and server address.
	Started func(a *bot.Adapter, env *backend.Env)
	// ServerOptions are added to the gRPC server's (tests: an interceptor
	// inside the standard chain sees what a handler receives).
	ServerOptions []grpc.ServerOption
}

// openStore opens the SQLite file in the data dir, or PostgreSQL when
// DATABASE_URL is set (pkg/store.OpenServiceStore): a PostgreSQL that
// cannot be reached (or is migrated beyond this binary) stops the start,
// so the service never becomes ready; the error names the setting and
// shows the URL without its password.
func openStore(ctx context.Context, cfg *config.Config, dataDir string, log *slog.Logger) (*store.Store, error) {
	return pstore.OpenServiceStore(ctx,
		pstore.ServiceDB{Service: config.Service, URL: cfg.DatabaseURL, MaxConns: cfg.DBMaxConns, StatementTimeout: cfg.DBStatementTimeout, Log: log},
		func(ctx context.Context) (*store.Store, error) {
			return store.Open(ctx, filepath.Join(dataDir, "slackadapter.db"))
		}, store.OpenPostgres)
}

// Run starts the slack adapter on pkg/backend's shared start-up path
// (config, logs, mTLS with hot reload, authz, principal verification with
// auth's keys, shutdown order) and blocks until ctx ends; "healthcheck" as
// the first argument checks a running instance instead, "migrate" brings
// its database schema up to date.
func Run(ctx context.Context, args []string) error { return RunWith(ctx, args, Hooks{}) }

// RunWith is Run with hooks into the assembled service (tests).
func RunWith(ctx context.Context, args []string, hooks Hooks) error {
	cfg := config.Default()
	spec := Spec()
	spec.ServerOptions = append(spec.ServerOptions, hooks.ServerOptions...)
	spec.Migrate = func(ctx context.Context, log *slog.Logger) error {
		st, err := openStore(ctx, cfg, cfg.DataDir, log)
		if err != nil {
			return err
		}
		return st.Close()
	}
	return backend.Run(ctx, spec, cfg, args, func(ctx context.Context, env *backend.Env) error {
		return setup(ctx, env, cfg, hooks)
	})
}

// setup opens the store and the keyring, dials auth, keyvault and
// inference, builds the bot, registers the handlers and starts the bot and
// the tenant-event stream as tasks; a failure closes what was opened
// before it.
func setup(ctx context.Context, env *backend.Env, cfg *config.Config, hooks Hooks) error {
	st, err := openStore(ctx, cfg, env.Common.DataDir, env.Log)
	if err != nil {
		return err
	}
	kekFile := cfg.KEKFile
	if kekFile == "" {
		kekFile = bot.KeyringPath(env.Common.DataDir)
	}
	kr, err := keyring.Load(kekFile)
	if err != nil {
		_ = st.Close()
		return err
	}
	var fromAWS *appsecrets.App
	if cfg.SlackAppFromAWS() {
		if fromAWS, err = loadAppFromAWS(ctx, env, cfg, hooks); err != nil {
			_ = st.Close()
			return err
		}
	}
	c, err := dial(ctx, env, cfg)
	if err != nil {
		_ = st.Close()
		return err
	}
	opts := bot.Options{
		Config: cfg, Store: st, Keyring: kr, Log: env.Log, Registry: env.Registry, Now: hooks.Now,
		Auth: platform.NewAuth(c.auth), Vault: platform.NewVault(c.keyvault), Inference: platform.NewInference(c.inference),
		Ingestion: platform.NewIngestion(c.ingestion),
		Slack: slackapi.New(slackapi.Options{APIURL: cfg.SlackAPIURL, HTTP: hooks.SlackHTTP,
			MaxRetries: cfg.MaxRetries, MaxRetryAfter: cfg.MaxRetryAfter, Sleep: hooks.Sleep}),
		AllowHTTPResponseURL: hooks.AllowHTTPResponseURL,
	}
	if fromAWS != nil {
		opts.AppFromSettings = fromAWS
	}
	a, err := bot.New(opts)
	if err != nil {
		c.close()
		_ = st.Close()
		return err
	}
	slackadapterv1.RegisterSlackAdapterServiceServer(env.Server.GRPC(), &server.Handlers{Bot: a})
	// The tasks end after gRPC drained (the bot finishes its queued
	// work), before the closers run.
	env.OnShutdown(func(context.Context) error {
		c.close()
		return st.Close()
	})
	// A tenant purged by auth: its installations go, so its
	// workspaces can be installed again by another tenant.
	env.Go("tenant events", func(ctx context.Context) error {
		tenantevents.New(authv1.NewAuthServiceClient(c.auth), a.PurgeTenant, st, env.Log).Run(ctx)
		return nil
	})
	// Revoked, expired or changed adapter keys and suspended tenants:
	// their cached assertions go at once.
	rev := platform.NewRevocations(authv1.NewAuthServiceClient(c.auth), a, env.Log)
	env.Go("revocations", rev.Run)
	env.Go("bot", a.Run)
	if fromAWS != nil {
		env.Go("slack app secrets", func(ctx context.Context) error { return fromAWS.Run(ctx, cfg.SlackSecretsRefresh) })
	}
	if hooks.Started != nil {
		hooks.Started(a, env)
	}
	return nil
}

// loadAppFromAWS resolves the RAMPART_SLACK_* references (ADR 0126) with
// the SDK's default credential chain; the adapter does not start without
// them, and the error names the setting.
func loadAppFromAWS(ctx context.Context, env *backend.Env, cfg *config.Config, hooks Hooks) (*appsecrets.App, error) {
	awsCfg, err := appsecrets.LoadAWSConfig(ctx, cfg.AWSRegion, cfg.AWSEndpoint)
	if err != nil {
		return nil, fmt.Errorf("slack app from AWS (RAMPART_SLACK_*): %w", err)
	}
	src, err := appsecrets.NewSource(awsCfg, appsecrets.SourceOptions{Refresh: cfg.SlackSecretsRefresh, Now: hooks.Now, Registerer: env.Registry})
	if err != nil {
		return nil, err
	}
	return appsecrets.Load(ctx, appsecrets.Options{Source: src, ClientID: cfg.SlackClientID, ClientSecret: cfg.SlackClientSecret,
		SigningSecret: cfg.SlackSigningSecret, Overlap: cfg.SigningSecretOverlap, Now: hooks.Now, Log: env.Log})
}

// conns are the adapter's connections to the services it calls.
type conns struct {
	auth, keyvault, inference, ingestion *grpc.ClientConn
}

// dial connects to auth, keyvault, inference and ingestion at the configured
// addresses (pkg/backend's dialer: mTLS, request id, tracing); on an error
// it closes the connections it had made.
func dial(ctx context.Context, env *backend.Env, cfg *config.Config) (*conns, error) {
	dialer := env.Dialer()
	c := &conns{}
	for _, t := range []struct {
		svc, addr string
		conn      **grpc.ClientConn
	}{{"auth", cfg.AuthAddr, &c.auth}, {"keyvault", cfg.KeyvaultAddr, &c.keyvault}, {"inference", cfg.InferenceAddr, &c.inference},
		{"ingestion", cfg.IngestionAddr, &c.ingestion}} {
		conn, err := dialer.Dial(ctx, t.svc, t.addr)
		if err != nil {
			c.close()
			return nil, err
		}
		*t.conn = conn
	}
	return c, nil
}

// close closes the connections that were made.
func (c *conns) close() {
	for _, conn := range []*grpc.ClientConn{c.auth, c.keyvault, c.inference, c.ingestion} {
		if conn != nil {
			_ = conn.Close()
		}
	}
}
