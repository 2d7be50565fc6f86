package store

import (
	"context"
	"database/sql"
	"io/fs"
	"strings"
)

// Migrations holds a service's migrations for each dialect.
type Migrations struct {
	SQLite   fs.FS
	Postgres fs.FS
}

// Open opens dsn and applies the matching migrations: a postgres:// or
// postgresql:// URL opens PostgreSQL ([OpenPostgres]); anything else is a
// SQLite file path ([OpenSQLite]). It returns the dialect so the caller can
// [Dialect.Rebind] its queries.
func Open(ctx context.Context, dsn string, m Migrations) (*sql.DB, Dialect, error) {
	if IsPostgresURL(dsn) {
		db, err := OpenPostgres(ctx, dsn, m.Postgres)
		return db, Postgres, err
	}
	db, err := OpenSQLite(ctx, dsn, m.SQLite)
	return db, SQLite, err
}

// IsPostgresURL reports whether dsn is a postgres:// or postgresql:// URL.
func IsPostgresURL(dsn string) bool {
	l := strings.ToLower(dsn)
	return strings.HasPrefix(l, "postgres://") || strings.HasPrefix(l, "postgresql://")
}
