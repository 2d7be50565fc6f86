package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib" // also registers the "pgx" database/sql driver
)

// PoolOptions bound a PostgreSQL connection pool. Zero fields keep
// database/sql's defaults (unlimited open connections, 2 idle, no lifetime,
// no statement timeout).
type PoolOptions struct {
	// MaxOpen caps open connections per process: replicas × MaxOpen must
	// stay below the server's max_connections.
	MaxOpen int
	// MaxIdle is how many idle connections are kept (at most MaxOpen).
	MaxIdle int
	// MaxLifetime recycles connections, so a failover or a DNS change is
	// picked up and server-side memory does not grow without bound.
	MaxLifetime time.Duration
	// StatementTimeout makes the server cancel any statement running
	// longer (PostgreSQL statement_timeout), so a stuck query cannot hold
	// locks and connections forever. Set unless the URL sets it already.
	StatementTimeout time.Duration
	// LockTimeout bounds waiting for a row or table lock (lock_timeout).
	LockTimeout time.Duration
}

// DefaultPoolOptions are the limits services use unless configured: 16
// connections, recycled every 30 minutes, statements cancelled after 30 s
// and lock waits after 10 s.
var DefaultPoolOptions = PoolOptions{
	MaxOpen:          16,
	MaxIdle:          16,
	MaxLifetime:      30 * time.Minute,
	StatementTimeout: 30 * time.Second,
	LockTimeout:      10 * time.Second,
}

// OpenPostgres connects to the PostgreSQL database at url
// ("postgres://user@host:5432/db?sslmode=verify-full", or a key=value DSN)
// through pgx's database/sql driver and applies migrations (see [Migrate]).
// Errors never include the URL, which may hold a password.
func OpenPostgres(ctx context.Context, url string, migrations fs.FS) (*sql.DB, error) {
	return OpenPostgresPool(ctx, url, migrations, PoolOptions{})
}

// OpenPostgresPool is [OpenPostgres] with a bounded pool and server-side
// timeouts (see [PoolOptions]).
func OpenPostgresPool(ctx context.Context, url string, migrations fs.FS, o PoolOptions) (*sql.DB, error) {
	if url == "" {
		return nil, errors.New("store: empty PostgreSQL URL")
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		// pgx's parse errors quote the URL (password masked, but the
		// user and host too): keep only that it did not parse.
		return nil, errors.New("store: PostgreSQL URL does not parse (expected postgres://user:password@host:port/db?sslmode=...)")
	}
	setParam(cfg, "statement_timeout", o.StatementTimeout)
	setParam(cfg, "lock_timeout", o.LockTimeout)
	db := stdlib.OpenDB(*cfg)
	if o.MaxOpen > 0 {
		db.SetMaxOpenConns(o.MaxOpen)
	}
	if o.MaxIdle > 0 {
		db.SetMaxIdleConns(o.MaxIdle)
	}
	if o.MaxLifetime > 0 {
		db.SetConnMaxLifetime(o.MaxLifetime)
	}
	if err := db.PingContext(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("store: connect to PostgreSQL: %w", err), db.Close())
	}
	if err := Migrate(ctx, db, Postgres, migrations); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	return db, nil
}

// setParam sets a millisecond runtime parameter unless d is zero or the URL
// already chose a value.
func setParam(cfg *pgx.ConnConfig, name string, d time.Duration) {
	if d <= 0 {
		return
	}
	if _, ok := cfg.RuntimeParams[name]; ok {
		return
	}
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams[name] = strconv.FormatInt(d.Milliseconds(), 10)
}
