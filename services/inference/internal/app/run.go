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

// GCPercent is inference's default GOGC (the operator's GOGC wins): twice
// the request path's 200 (ADR 0038), as the edge's (ADR 0066). Under chat
// load inference's heap in use is a few MB (~5 MB) and every completion
// allocates, so at 200 the collector ran several times a second and its
// marking was ~13 % of inference's instructions per completion; at 400 it
// runs half as often: 9.5 % fewer instructions per completion in the real
// process (ADR 0073). Idle RSS is pkg/memtrim's (it returns the heap after a busy
// period), and GOMEMLIMIT, which the manifests set from the container's
// limit, still bounds the heap under load.
const GCPercent = 2 * serve.RequestPathGCPercent

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
		GCPercent:       GCPercent,
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
