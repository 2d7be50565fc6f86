package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// OpenPostgres connects to the PostgreSQL database at url
// ("postgres://user@host:5432/db?sslmode=verify-full", or a key=value DSN)
// through pgx's database/sql driver and applies migrations (see [Migrate]).
// Errors never include the URL, which may hold a password.
func OpenPostgres(ctx context.Context, url string, migrations fs.FS) (*sql.DB, error) {
	if url == "" {
		return nil, errors.New("store: empty PostgreSQL URL")
	}
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("store: open PostgreSQL: %w", err)
	}
	if err := db.PingContext(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("store: connect to PostgreSQL: %w", err), db.Close())
	}
	if err := Migrate(ctx, db, Postgres, migrations); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	return db, nil
}
