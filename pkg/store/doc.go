// Package store opens a service's SQL database and brings its schema up to
// date.
//
// Each service owns its store: an embedded SQLite file by default
// ([OpenSQLite], pure Go via modernc.org/sqlite, driver name "sqlite") or
// PostgreSQL for scale ([OpenPostgres], pgx/v5 through database/sql, driver
// name "pgx"). [Open] picks one from a DSN.
//
// Migrations are goose SQL files (NNNNN_name.sql with "-- +goose Up" /
// "-- +goose Down" sections) embedded by the caller and passed as an fs.FS
// with the files at its root; use fs.Sub to point at a subdirectory:
//
//	//go:embed migrations/sqlite/*.sql
//	var sqliteMigrations embed.FS
//
//	sub, _ := fs.Sub(sqliteMigrations, "migrations/sqlite")
//	db, err := store.OpenSQLite(ctx, filepath.Join(cfg.DataDir, "auth.db"), sub)
//
// They run at every start and are idempotent: applied versions are recorded
// in the goose_db_version table and skipped. On PostgreSQL a session-level
// advisory lock serialises replicas starting at the same time.
//
// The two dialects differ in a few places; write queries with "?"
// placeholders and pass them through [Dialect.Rebind], which turns them into
// $1, $2, ... for PostgreSQL.
//
// Test helpers start real servers from the binaries installed on the
// machine: [github.com/rampart-platform/rampart/pkg/store/pgtest] (PostgreSQL)
// and [github.com/rampart-platform/rampart/pkg/store/redistest] (Redis).
package store
