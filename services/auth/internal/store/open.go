package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	pstore "github.com/rampart-platform/rampart/pkg/store"
)

//go:embed migrations
var migrations embed.FS

// Dialect names a SQL dialect: the platform's (pkg/store), so the shared
// helpers (placeholders, the store contract harness) work on auth's store.
type Dialect = pstore.Dialect

// Supported dialects.
const (
	SQLite   = pstore.SQLite
	Postgres = pstore.Postgres
)

// DB is an open store.
type DB struct {
	db      *sql.DB
	dialect Dialect

	headMu sync.Mutex
	head   *sql.Stmt // EventHead's statement, prepared on first use
}

// OpenSQLite opens (creating if needed) the SQLite database at path, with
// WAL, a busy timeout, foreign keys and IMMEDIATE write transactions, and
// migrates it. The file is created 0600.
func OpenSQLite(ctx context.Context, path string) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create database file: %w", err)
	}
	_ = f.Close()
	dsn := "file:" + path + "?_txlock=immediate" +
		"&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
		"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	return finishOpen(ctx, db, SQLite)
}

// OpenPostgres opens the PostgreSQL database at url (postgres://...) and
// migrates it.
func OpenPostgres(ctx context.Context, dsn string) (*DB, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	return finishOpen(ctx, db, Postgres)
}

// Open picks the dialect from databaseURL: a postgres:// or postgresql://
// URL selects PostgreSQL; empty selects SQLite at sqlitePath.
func Open(ctx context.Context, databaseURL, sqlitePath string) (*DB, error) {
	if databaseURL == "" {
		return OpenSQLite(ctx, sqlitePath)
	}
	u, err := url.Parse(databaseURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, errors.New("database url must be postgres://... (credentials not shown)")
	}
	return OpenPostgres(ctx, databaseURL)
}

// newProvider is the migrations of dialect d over db: the SQL files in
// sub and the Go migration backfilling the keys' rate pools.
func newProvider(db *sql.DB, d Dialect, sub fs.FS) (*goose.Provider, error) {
	gd := goose.DialectSQLite3
	if d == Postgres {
		gd = goose.DialectPostgres
	}
	return goose.NewProvider(gd, db, sub, goose.WithGoMigrations(ratePoolsMigration(d)))
}

func finishOpen(ctx context.Context, db *sql.DB, d Dialect) (*DB, error) {
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("connect %s: %w", d, err)
	}
	sub, err := pstore.MigrationsFor(migrations, d)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	p, err := newProvider(db, d, sub)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("migrate %s: %w", d, err)
	}
	return &DB{db: db, dialect: d}, nil
}

// Dialect reports the database dialect.
func (s *DB) Dialect() Dialect { return s.dialect }

// Close closes the database.
func (s *DB) Close() error {
	s.headMu.Lock()
	if s.head != nil {
		_ = s.head.Close()
	}
	s.headMu.Unlock()
	return s.db.Close()
}

// Ping checks the connection (readiness).
func (s *DB) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Q returns queries that run outside a transaction.
func (s *DB) Q() *Queries { return &Queries{x: s.db, d: s.dialect} }

// Tx runs fn in one transaction: committed if fn returns nil, rolled back
// otherwise, so nothing is ever half-written.
func (s *DB) Tx(ctx context.Context, fn func(q *Queries) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(&Queries{x: tx, d: s.dialect, inTx: true}); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", mapErr(err))
	}
	return nil
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// rebind turns "?" placeholders into "$1", "$2", ... for PostgreSQL.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return fmt.Errorf("%w: %s", ErrConflict, pgErr.ConstraintName)
	}
	if strings.Contains(err.Error(), "UNIQUE constraint failed") || strings.Contains(err.Error(), "constraint failed: UNIQUE") {
		return fmt.Errorf("%w: %s", ErrConflict, err.Error())
	}
	return err
}
