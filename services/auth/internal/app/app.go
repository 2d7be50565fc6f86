package app

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/rampart-platform/rampart/pkg/backend"
	"github.com/rampart-platform/rampart/pkg/periodic"
	pstore "github.com/rampart-platform/rampart/pkg/store"

	"github.com/rampart-platform/rampart/services/auth/internal/config"
	"github.com/rampart-platform/rampart/services/auth/internal/events"
	"github.com/rampart-platform/rampart/services/auth/internal/keys"
	"github.com/rampart-platform/rampart/services/auth/internal/server"
	"github.com/rampart-platform/rampart/services/auth/internal/signing"
	"github.com/rampart-platform/rampart/services/auth/internal/store"
)

// Run starts auth on pkg/backend (mTLS, authz, principal interceptors,
// health, metrics, shutdown order; "healthcheck" as the first argument
// checks a running instance's /readyz instead, "migrate" migrates its
// database).
func Run(ctx context.Context, args []string) error {
	cfg := config.Default()
	spec := backend.Spec{Name: "auth", DefaultPolicy: server.DefaultPolicy, PrincipalExempt: server.ExemptMethodNames}
	open := func(ctx context.Context) (*store.DB, error) {
		db, err := store.Open(ctx, cfg.DatabaseURL, filepath.Join(cfg.DataDir, "auth.db"))
		if err != nil && cfg.DatabaseURL != "" {
			// Name the setting to fix; the URL is shown without its password.
			return nil, fmt.Errorf("auth store: RAMPART_AUTH_DATABASE_URL (%s): %w", pstore.RedactURL(cfg.DatabaseURL), err)
		}
		return db, err
	}
	spec.Migrate = func(ctx context.Context, _ *slog.Logger) error {
		db, err := open(ctx)
		if err != nil {
			return err
		}
		return db.Close()
	}
	return backend.Run(ctx, spec, &cfg, args, func(ctx context.Context, env *backend.Env) error {
		db, err := open(ctx)
		if err != nil {
			return err
		}
		env.OnShutdown(func(context.Context) error { return db.Close() })
		kek, err := signing.LoadKEK(cfg.SigningKEKFile)
		if err != nil {
			return err
		}
		sm, err := signing.New(ctx, db, kek, time.Now, cfg.SigningKeyRotation)
		if err != nil {
			return err
		}
		env.UseKeys(sm) // auth verifies the assertions it mints itself
		hub := events.NewHub()
		svc, err := keys.New(ctx, db, sm, hub, keys.Options{
			DefaultTTL: cfg.KeyDefaultTTL, MaxTTL: cfg.KeyMaxTTL, DefaultOverlap: cfg.RotationOverlap,
			TenantGrace: cfg.TenantGrace, Log: env.Log,
		})
		if err != nil {
			return err
		}
		server.Register(env.Server.GRPC(), server.New(svc, sm, db, hub, env.Log).EndStreamsOn(env.Server.Draining()))
		// Tasks end (cancelled and awaited) before the store's closer runs.
		env.Go("sweep", func(ctx context.Context) error { svc.Run(ctx, cfg.SweepInterval); return nil })
		env.Go("signing keys", func(ctx context.Context) error { refreshSigning(ctx, sm, env); return nil })
		feed := events.NewFeed(db, hub, env.Log)
		env.Go("event feed", func(ctx context.Context) error { feed.Run(ctx); return nil })
		env.Log.Info("auth store ready", "dialect", db.Dialect().String())
		return nil
	})
}

// refreshSigning picks up keys rotated by other replicas and rotates when due.
func refreshSigning(ctx context.Context, sm *signing.Manager, env *backend.Env) {
	periodic.Every(ctx, time.Minute, func(ctx context.Context) {
		if err := sm.Refresh(ctx); err != nil {
			env.Log.Error("refresh signing keys", "err", err)
		} else if err := sm.MaybeRotate(ctx); err != nil {
			env.Log.Error("rotate signing key", "err", err)
		}
	})
}
