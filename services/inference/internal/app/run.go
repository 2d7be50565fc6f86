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

// GCPercent is inference's default GOGC (the operator's GOGC wins): four
// times the request path's 200. Under chat load inference's live heap is a
// few MB (~5 MB) and every completion allocates ~14 KB, most of it in
// grpc-go's and net/http's per-call state, so the collector's cost per
// completion follows how often it runs. At 200 its marking was ~13 % of
// inference's instructions per completion; 400 (ADR 0073) cut 9.5 %, 800
// another ~6 % (ADR 0089), for a heap that may grow to ~9× its live size
// under load (peak RSS at c=64 79 → 111 MB in one paired run). Idle RSS is
// pkg/memtrim's (it returns the heap after a busy period), and GOMEMLIMIT,
// which the manifests set from the container's limit, still bounds the
// heap under load.
const GCPercent = 4 * serve.RequestPathGCPercent

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
		// Auth answers the tenant limits of ingestion's jobs (ADR 0106 §2).
		auth, err := env.Dial(ctx, "auth")
		if err != nil {
			return err
		}
		env.OnShutdown(func(context.Context) error { return auth.Close() })
		_, err = New(ctx, Options{Config: cfg, TLS: env.TLS, Dialer: env.Dialer(), Logger: env.Log, Registry: env.Registry, Server: env.Server,
			Auth: auth})
		return err
	})
}
