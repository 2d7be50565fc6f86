package store

import (
	"context"
	"database/sql"
	"io/fs"
	"net/url"
	"strings"
)

// Migrations holds a service's migrations for each dialect.
type Migrations struct {
	SQLite   fs.FS
	Postgres fs.FS
}

// Open opens dsn and applies the matching migrations: a postgres:// or
// postgresql:// URL opens PostgreSQL ([OpenPostgresPool] with
// [DefaultPoolOptions]: bounded pool, statement and lock timeouts); anything else is a
// SQLite file path ([OpenSQLite]). It returns the dialect so the caller can
// [Dialect.Rebind] its queries.
func Open(ctx context.Context, dsn string, m Migrations) (*sql.DB, Dialect, error) {
	return OpenWith(ctx, dsn, m, SQLiteOptions{})
}

// OpenWith is [Open] with SQLite options (ignored for PostgreSQL).
func OpenWith(ctx context.Context, dsn string, m Migrations, o SQLiteOptions) (*sql.DB, Dialect, error) {
	if IsPostgresURL(dsn) {
		db, err := OpenPostgresPool(ctx, dsn, m.Postgres, DefaultPoolOptions)
		return db, Postgres, err
	}
	db, err := OpenSQLiteWith(ctx, dsn, m.SQLite, o)
	return db, SQLite, err
}

// IsPostgresURL reports whether dsn is a postgres:// or postgresql:// URL.
func IsPostgresURL(dsn string) bool {
	l := strings.ToLower(dsn)
	return strings.HasPrefix(l, "postgres://") || strings.HasPrefix(l, "postgresql://")
}

// RedactURL returns dsn fit for logs and errors: a URL with its password
// replaced by "xxxxx" and its query (which may carry a password too)
// dropped; anything that is not a URL (a key=value DSN, a file path) as
// "(not shown)" unless it is a plain SQLite path.
func RedactURL(dsn string) string {
	if !IsPostgresURL(dsn) {
		if strings.Contains(dsn, "=") {
			return "(not shown)"
		}
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "(not shown)"
	}
	u.RawQuery, u.Fragment = "", ""
	return u.Redacted()
}
