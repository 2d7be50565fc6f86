package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver
)

// sqlitePragmas are applied by the driver to every new connection, in order:
// wait up to 5 s for a lock instead of failing with SQLITE_BUSY, write-ahead
// logging (readers never block the writer), enforce foreign keys, and fsync
// only at checkpoints (safe with WAL: a crash loses at most the last
// transactions, never consistency). Transactions start with BEGIN IMMEDIATE
// so a read-then-write transaction cannot fail to upgrade its lock halfway.
const sqlitePragmas = "_pragma=busy_timeout(5000)" +
	"&_pragma=journal_mode(WAL)" +
	"&_pragma=foreign_keys(1)" +
	"&_pragma=synchronous(NORMAL)" +
	"&_txlock=immediate"

// OpenSQLite opens (creating if needed) the SQLite database file at path and
// applies migrations (see [Migrate]). A missing parent directory is created
// with mode 0700 and a new database file with mode 0600; SQLite gives its
// -wal and -shm files the same mode as the database. Every connection uses
// WAL, busy_timeout 5000 ms, foreign_keys on and synchronous NORMAL.
//
// path must be a file path: ":memory:" and "file:" URIs are refused because
// each pooled connection would see a different in-memory database.
func OpenSQLite(ctx context.Context, path string, migrations fs.FS) (*sql.DB, error) {
	return OpenSQLiteWith(ctx, path, migrations, SQLiteOptions{})
}

// SQLiteOptions tune the connections [OpenSQLiteWith] opens.
type SQLiteOptions struct {
	// CacheKiB bounds each connection's page cache (PRAGMA cache_size);
	// 0 keeps SQLite's default of 2,000 KiB. The cache is heap outside
	// Go's collector that a connection keeps while it is open: a
	// write-mostly database read by occasional queries gains little from
	// it (the operating system caches the file too) and an idle service
	// keeps it all (issue 15).
	CacheKiB int
	// PageSize is the page size, in bytes, of a database OpenSQLiteWith
	// creates (a power of two from 512 to 65536; 0: SQLite's 4096).
	// Larger pages suit a database of large rows written in bulk: a 5 KB
	// row no longer spills into overflow pages, and a commit writes a few
	// large WAL frames instead of many small ones (a write system call
	// each). A database that exists keeps its page size: in WAL mode it
	// is fixed.
	PageSize int
}

// pragmas is the DSN query for o.
func (o SQLiteOptions) pragmas() string {
	if o.CacheKiB <= 0 {
		return sqlitePragmas
	}
	return sqlitePragmas + "&_pragma=cache_size(" + strconv.Itoa(-o.CacheKiB) + ")"
}

// OpenSQLiteWith is [OpenSQLite] with options.
func OpenSQLiteWith(ctx context.Context, path string, migrations fs.FS, o SQLiteOptions) (*sql.DB, error) {
	if o.PageSize != 0 && (o.PageSize < 512 || o.PageSize > 65536 || o.PageSize&(o.PageSize-1) != 0) {
		return nil, fmt.Errorf("store: SQLite page size %d: a power of two from 512 to 65536", o.PageSize)
	}
	switch {
	case path == "":
		return nil, errors.New("store: empty SQLite path")
	case path == ":memory:" || strings.HasPrefix(path, "file:"):
		return nil, fmt.Errorf("store: SQLite path %q: give a file path (use a temporary directory in tests)", path)
	case strings.ContainsRune(path, '?'):
		return nil, fmt.Errorf("store: SQLite path %q must not contain '?'", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: create SQLite directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: create SQLite file: %w", err)
	}
	fi, err := f.Stat()
	if err := errors.Join(err, f.Close()); err != nil {
		return nil, fmt.Errorf("store: create SQLite file: %w", err)
	}
	if o.PageSize != 0 && fi.Size() == 0 {
		if err := setPageSize(ctx, path, o.PageSize); err != nil {
			return nil, err
		}
	}

	db, err := sql.Open("sqlite", path+"?"+o.pragmas())
	if err != nil {
		return nil, fmt.Errorf("store: open SQLite %s: %w", path, err)
	}
	if err := db.PingContext(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("store: open SQLite %s: %w", path, err), db.Close())
	}
	if err := Migrate(ctx, db, SQLite, migrations); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	return db, nil
}

// setPageSize gives the empty database at path pages of n bytes: the page
// size must be set before anything is written, and switching to WAL (which
// writes the header) fixes it, so both happen on one connection before the
// pool opens.
func setPageSize(ctx context.Context, path string, n int) error {
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return fmt.Errorf("store: open SQLite %s: %w", path, err)
	}
	_, err = db.ExecContext(ctx, fmt.Sprintf("PRAGMA page_size = %d; PRAGMA journal_mode = WAL", n))
	if err := errors.Join(err, db.Close()); err != nil {
		return fmt.Errorf("store: set SQLite page size: %w", err)
	}
	return nil
}
