package store

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/rampart-platform/rampart/pkg/config"
)

// StartTimeout bounds a service's first connection to PostgreSQL: a dead
// address fails the start within it (the orchestrator then restarts the
// service) instead of leaving the service hanging, never ready.
const StartTimeout = 30 * time.Second

// ServiceDB says where a service keeps its data: PostgreSQL at URL when it
// is set (the replicas of the service share it), SQLite in the service's
// data dir otherwise.
type ServiceDB struct {
	// Service is the service's name ("ingestion"): errors start with
	// "<service> store:" and name its RAMPART_<SERVICE>_DATABASE_URL.
	Service string
	// URL is the DATABASE_URL setting; "" selects SQLite.
	URL string
	// MaxConns caps the pool's open and idle connections.
	MaxConns int
	// StatementTimeout is the pool's statement_timeout.
	StatementTimeout time.Duration
	// Log, when set, notes that the store is PostgreSQL (URL redacted).
	Log *slog.Logger
}

// OpenServiceStore opens a service's store: sqlite when db.URL is empty,
// otherwise postgres with DefaultPoolOptions bounded by db, within
// StartTimeout. A PostgreSQL that cannot be reached, or is migrated beyond
// this binary, fails the start with an error that names the setting to fix
// and shows the URL without its password. sqlite's errors are returned as
// they are.
func OpenServiceStore[S any](ctx context.Context, db ServiceDB, sqlite func(context.Context) (S, error),
	postgres func(ctx context.Context, url string, pool PoolOptions) (S, error)) (S, error) {
	if db.URL == "" {
		return sqlite(ctx)
	}
	pool := DefaultPoolOptions
	pool.MaxOpen, pool.MaxIdle, pool.StatementTimeout = db.MaxConns, db.MaxConns, db.StatementTimeout
	octx, cancel := context.WithTimeout(ctx, StartTimeout)
	defer cancel()
	st, err := postgres(octx, db.URL, pool)
	if err != nil {
		var none S
		return none, fmt.Errorf("%s store: %sDATABASE_URL (%s): %w", db.Service, config.Prefix(db.Service), RedactURL(db.URL), err)
	}
	if db.Log != nil {
		db.Log.Info("store: PostgreSQL", "url", RedactURL(db.URL), "max_conns", db.MaxConns)
	}
	return st, nil
}
