package app

import (
	"context"
	"fmt"
	"log/slog"

	"google.golang.org/grpc"

	"github.com/rampart-platform/rampart/pkg/backend"
	"github.com/rampart-platform/rampart/pkg/config"
	"github.com/rampart-platform/rampart/pkg/serve"
	pstore "github.com/rampart-platform/rampart/pkg/store"
	infconfig "github.com/rampart-platform/rampart/services/inference/internal/config"
	"github.com/rampart-platform/rampart/services/inference/internal/store"
)

// Run starts inference on pkg/backend's shared start-up path (config, logs,
// mTLS with hot reload, authz, principal verification with auth's keys,
// `healthcheck` and `migrate` modes) and registers the service built by
// New on its server.
func Run(ctx context.Context, args []string) error {
	cfg := &infconfig.Config{Common: config.Defaults(infconfig.Service)}
	spec := backend.Spec{
		Name:          infconfig.Service,
		DefaultPolicy: infconfig.DefaultAuthzPolicy(),
		ServerOptions: []grpc.ServerOption{StreamWorkers()},
		// EmbedForTenant: ingestion's background jobs carry no principal.
		PrincipalExempt: PrincipalExempt(),
		// Small live heap, ~15 KB allocated per chat completion (ADR 0038).
		GCPercent: serve.RequestPathGCPercent,
	}
	spec.Migrate = func(ctx context.Context, _ *slog.Logger) error {
		st, err := store.Open(ctx, cfg.DatabaseURL)
		if err != nil {
			return fmt.Errorf("inference store: RAMPART_INFERENCE_DATABASE_URL (%s): %w", pstore.RedactURL(cfg.DatabaseURL), err)
		}
		return st.Close()
	}
	return backend.Run(ctx, spec, cfg, args, func(ctx context.Context, env *backend.Env) error {
		_, err := New(ctx, Options{Config: cfg, TLS: env.TLS, Dialer: env.Dialer(), Logger: env.Log, Registry: env.Registry, Server: env.Server})
		return err
	})
}
