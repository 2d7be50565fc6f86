package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// MigrationsFor is the folder of dialect d in a service's embedded
// migrations, laid out as migrations/sqlite and migrations/postgres (every
// service's store embeds them so: one place to find them).
func MigrationsFor(embedded fs.FS, d Dialect) (fs.FS, error) {
	sub, err := fs.Sub(embedded, "migrations/"+d.String())
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return sub, nil
}

// Migrate applies the goose migrations at the root of migrations that db
// does not have yet. Applied versions are recorded in goose_db_version, so
// running it again is a no-op. A nil migrations does nothing. On PostgreSQL
// it holds a session advisory lock while migrating, so replicas starting
// together do not race.
func Migrate(ctx context.Context, db *sql.DB, d Dialect, migrations fs.FS) error {
	if migrations == nil {
		return nil
	}
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	var gd goose.Dialect
	switch d {
	case SQLite:
		gd = goose.DialectSQLite3
	case Postgres:
		gd = goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return fmt.Errorf("store: migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	default:
		return fmt.Errorf("store: migrate: unsupported dialect %v", d)
	}
	p, err := goose.NewProvider(gd, db, migrations, opts...)
	if errors.Is(err, goose.ErrNoMigrations) {
		return fmt.Errorf("store: no NNNNN_name.sql migrations at the root of the migrations FS (use fs.Sub to point at their directory): %w", err)
	}
	if err != nil {
		return fmt.Errorf("store: load migrations: %w", err)
	}
	// p.Close would close db: the provider is simply dropped.
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("store: apply %s migrations: %w", d, err)
	}
	// A schema newer than this binary knows (a rollback after a newer
	// release migrated the database) would be read and written with the
	// wrong assumptions: refuse to start instead.
	current, target, err := p.GetVersions(ctx)
	if err != nil {
		return fmt.Errorf("store: read %s schema version: %w", d, err)
	}
	if current > target {
		return fmt.Errorf("%w: the database is at migration %d, this binary knows up to %d (run the newer release, or restore a matching backup)",
			ErrSchemaTooNew, current, target)
	}
	return nil
}

// ErrSchemaTooNew means the database was migrated by a newer release than
// the running binary; [Migrate] refuses it.
var ErrSchemaTooNew = errors.New("store: database schema is newer than this binary")
