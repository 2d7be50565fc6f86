package store_test

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/store"
	"github.com/rampart-platform/rampart/pkg/store/pgtest"
)

//go:embed testdata/migrations
var migrationFiles embed.FS

func migrations(t testing.TB, dir string) fs.FS {
	t.Helper()
	sub, err := fs.Sub(migrationFiles, "testdata/migrations/"+dir)
	require.NoError(t, err)
	return sub
}

// exercise writes and reads through the migrated schema with portable SQL.
func exercise(ctx context.Context, t *testing.T, db *sql.DB, d store.Dialect, tenant string) {
	t.Helper()
	_, err := db.ExecContext(ctx, d.Rebind("INSERT INTO tenants (id, name) VALUES (?, ?)"), tenant, "Tenant "+tenant)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, d.Rebind("INSERT INTO keys (id, tenant_id, hash, note) VALUES (?, ?, ?, '?')"),
		"k-"+tenant, tenant, []byte{1, 2, 3})
	require.NoError(t, err)
	var note string
	var hash []byte
	require.NoError(t, db.QueryRowContext(ctx, d.Rebind("SELECT note, hash FROM keys WHERE tenant_id = ?"), tenant).Scan(&note, &hash))
	require.Equal(t, "?", note, "a ? inside a string literal is not a placeholder")
	require.Equal(t, []byte{1, 2, 3}, hash)

	// Foreign keys are enforced.
	_, err = db.ExecContext(ctx, d.Rebind("INSERT INTO keys (id, tenant_id, hash) VALUES (?, ?, ?)"), "orphan-"+tenant, "no-such-tenant", []byte{0})
	require.Error(t, err, "foreign key violation must fail")
}

func gooseVersion(ctx context.Context, t *testing.T, db *sql.DB) int64 {
	t.Helper()
	var v int64
	require.NoError(t, db.QueryRowContext(ctx, "SELECT MAX(version_id) FROM goose_db_version").Scan(&v))
	return v
}

func countRows(ctx context.Context, t *testing.T, db *sql.DB, table string) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table).Scan(&n))
	return n
}

func TestOpenSQLiteMigratesIdempotently(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), "nested", "auth")
	path := filepath.Join(dir, "auth.db")
	m := migrations(t, "sqlite")

	db, err := store.OpenSQLite(ctx, path, m)
	require.NoError(t, err)
	require.EqualValues(t, 2, gooseVersion(ctx, t, db))
	exercise(ctx, t, db, store.SQLite, "t1")
	require.NoError(t, db.Close())

	// Every start runs the migrations again: nothing is re-applied, data stays.
	for range 2 {
		db, err = store.OpenSQLite(ctx, path, m)
		require.NoError(t, err)
		require.EqualValues(t, 2, gooseVersion(ctx, t, db))
		require.Equal(t, 2, countRows(ctx, t, db, "goose_db_version")-1, "one row per applied migration plus goose's version 0")
		require.Equal(t, 1, countRows(ctx, t, db, "tenants"))
		require.NoError(t, db.Close())
	}

	for _, tc := range []struct {
		path string
		mode os.FileMode
	}{
		{dir, 0o700},
		{path, 0o600},
		{path + "-wal", 0o600},
		{path + "-shm", 0o600},
	} {
		fi, err := os.Stat(tc.path)
		if os.IsNotExist(err) && tc.path != dir && tc.path != path {
			continue // checkpointed away on close
		}
		require.NoError(t, err)
		require.Equal(t, tc.mode, fi.Mode().Perm(), tc.path)
	}
}

func TestOpenSQLitePragmas(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "p.db"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	db.SetMaxOpenConns(3) // the pragmas must hold on every pooled connection

	conns := make([]*sql.Conn, 3)
	for i := range conns {
		c, err := db.Conn(ctx)
		require.NoError(t, err)
		conns[i] = c
	}
	for _, c := range conns {
		for _, tc := range []struct {
			pragma, want string
		}{
			{"journal_mode", "wal"},
			{"busy_timeout", "5000"},
			{"foreign_keys", "1"},
			{"synchronous", "1"}, // NORMAL
		} {
			var got string
			require.NoError(t, c.QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got))
			require.Equal(t, tc.want, got, tc.pragma)
		}
	}
	for _, c := range conns {
		require.NoError(t, c.Close())
	}
}

func TestOpenSQLiteCacheSize(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	for _, tc := range []struct {
		name string
		o    store.SQLiteOptions
		want string // PRAGMA cache_size: negative is KiB
	}{
		{"SQLite's default", store.SQLiteOptions{}, "-2000"},
		{"bounded", store.SQLiteOptions{CacheKiB: 512}, "-512"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, _, err := store.OpenWith(ctx, filepath.Join(t.TempDir(), "c.db"), store.Migrations{}, tc.o)
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, db.Close()) })
			db.SetMaxOpenConns(2) // every pooled connection, not just the first
			conns := make([]*sql.Conn, 2)
			for i := range conns {
				c, err := db.Conn(ctx)
				require.NoError(t, err)
				conns[i] = c
			}
			for _, c := range conns {
				var got string
				require.NoError(t, c.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&got))
				require.Equal(t, tc.want, got)
				var mode string
				require.NoError(t, c.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode))
				require.Equal(t, "wal", mode, "the other pragmas still apply")
				require.NoError(t, c.Close())
			}
		})
	}
}

// TestOpenSQLitePageSize: PageSize sets a new database's page size (on
// every pooled connection, in WAL mode); a database that exists keeps its
// own; a size SQLite would ignore is refused.
func TestOpenSQLitePageSize(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := t.TempDir()
	pageSize := func(db *sql.DB) (size int, mode string) {
		t.Helper()
		db.SetMaxOpenConns(2)
		for range 2 {
			c, err := db.Conn(ctx)
			require.NoError(t, err)
			defer func() { require.NoError(t, c.Close()) }()
			require.NoError(t, c.QueryRowContext(ctx, "PRAGMA page_size").Scan(&size))
			require.NoError(t, c.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode))
		}
		return size, mode
	}
	for _, tc := range []struct {
		name     string
		existing bool // the file was created without the option first
		size     int
		want     int
		wantErr  string
	}{
		{name: "new database", size: 32768, want: 32768},
		{name: "smallest", size: 512, want: 512},
		{name: "existing database keeps its size", existing: true, size: 32768, want: 4096},
		{name: "not a power of two", size: 3000, wantErr: "page size 3000"},
		{name: "too large", size: 1 << 17, wantErr: "page size 131072"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".db")
			if tc.existing {
				db, err := store.OpenSQLite(ctx, path, nil)
				require.NoError(t, err)
				_, err = db.ExecContext(ctx, "CREATE TABLE t (x)")
				require.NoError(t, err)
				require.NoError(t, db.Close())
			}
			db, err := store.OpenSQLiteWith(ctx, path, nil, store.SQLiteOptions{PageSize: tc.size})
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			defer func() { require.NoError(t, db.Close()) }()
			size, mode := pageSize(db)
			require.Equal(t, tc.want, size)
			require.Equal(t, "wal", mode)
			fi, err := os.Stat(path)
			require.NoError(t, err)
			require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
		})
	}
}

func TestOpenSQLiteConcurrentWriters(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "w.db"), migrations(t, "sqlite"))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })

	// Read-then-write transactions from many goroutines: with BEGIN IMMEDIATE
	// and the busy timeout none of them fails with "database is locked".
	const writers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				errs <- func() error {
					tx, err := db.BeginTx(ctx, nil)
					if err != nil {
						return err
					}
					defer func() { _ = tx.Rollback() }()
					var n int
					if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM tenants").Scan(&n); err != nil {
						return err
					}
					if _, err := tx.ExecContext(ctx, "INSERT INTO tenants (id, name) VALUES (?, ?)",
						fmt.Sprintf("w%d-%d", w, i), "n"); err != nil {
						return err
					}
					return tx.Commit()
				}()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, writers*each, countRows(ctx, t, db, "tenants"))
}

func TestOpenSQLiteErrors(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	tests := []struct {
		name       string
		path       string
		migrations fs.FS
		wantErr    string
	}{
		{"empty path", "", nil, "empty SQLite path"},
		{"memory", ":memory:", nil, "give a file path"},
		{"uri", "file:x.db?mode=memory", nil, "give a file path"},
		{"question mark", filepath.Join(tmp, "a?b.db"), nil, "must not contain '?'"},
		{"migrations not at root", filepath.Join(tmp, "r.db"), migrationFiles, "use fs.Sub"},
		{"no migrations", filepath.Join(tmp, "n.db"), fstest.MapFS{}, "use fs.Sub"},
		{"failing migration", filepath.Join(tmp, "f.db"), migrations(t, "broken"), "apply sqlite migrations"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db, err := store.OpenSQLite(t.Context(), tt.path, tt.migrations)
			require.ErrorContains(t, err, tt.wantErr)
			require.Nil(t, db)
		})
	}

	// The failed migration left nothing half-applied.
	db, err := store.OpenSQLite(t.Context(), filepath.Join(tmp, "f.db"), nil)
	require.NoError(t, err)
	defer db.Close()
	var n int
	require.NoError(t, db.QueryRow("SELECT COUNT(*) FROM sqlite_master WHERE name = 'ok'").Scan(&n))
	require.Zero(t, n)
}

func TestOpenPostgresMigratesIdempotently(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	url := pgtest.Start(t)
	m := migrations(t, "postgres")

	// Replicas starting together: the advisory lock serialises their
	// migrations, and both succeed.
	var wg sync.WaitGroup
	dbs := make([]*sql.DB, 3)
	errs := make([]error, len(dbs))
	for i := range dbs {
		wg.Go(func() { dbs[i], errs[i] = store.OpenPostgres(ctx, url, m) })
	}
	wg.Wait()
	for i := range dbs {
		require.NoError(t, errs[i])
		require.EqualValues(t, 2, gooseVersion(ctx, t, dbs[i]))
	}
	exercise(ctx, t, dbs[0], store.Postgres, "t1")
	for _, db := range dbs {
		require.NoError(t, db.Close())
	}

	for range 2 {
		db, err := store.OpenPostgres(ctx, url, m)
		require.NoError(t, err)
		require.EqualValues(t, 2, gooseVersion(ctx, t, db))
		require.Equal(t, 3, countRows(ctx, t, db, "goose_db_version"), "two migrations plus goose's version 0")
		require.Equal(t, 1, countRows(ctx, t, db, "tenants"))
		require.NoError(t, db.Close())
	}
}

func TestOpenPostgresErrors(t *testing.T) {
	t.Parallel()
	_, err := store.OpenPostgres(t.Context(), "", nil)
	require.ErrorContains(t, err, "empty PostgreSQL URL")

	// Nothing listens on port 1; the password must not appear in the error.
	_, err = store.OpenPostgres(t.Context(), "postgres://u:hunter2@127.0.0.1:1/db?sslmode=disable&connect_timeout=2", nil)
	require.ErrorContains(t, err, "connect to PostgreSQL")
	require.NotContains(t, err.Error(), "hunter2")
}

func TestOpenPicksDialect(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	m := store.Migrations{SQLite: migrations(t, "sqlite"), Postgres: migrations(t, "postgres")}
	tests := []struct {
		name string
		dsn  func(t *testing.T) string
		want store.Dialect
	}{
		{"sqlite path", func(t *testing.T) string { return filepath.Join(t.TempDir(), "o.db") }, store.SQLite},
		{"postgres url", func(t *testing.T) string { return pgtest.Start(t) }, store.Postgres},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db, d, err := store.Open(ctx, tt.dsn(t), m)
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, db.Close()) })
			require.Equal(t, tt.want, d)
			exercise(ctx, t, db, d, "t-"+d.String())
			if d == store.Postgres {
				// Open bounds the pool and the statements by default.
				require.Equal(t, store.DefaultPoolOptions.MaxOpen, db.Stats().MaxOpenConnections)
				var timeout string
				require.NoError(t, db.QueryRowContext(ctx, "SHOW statement_timeout").Scan(&timeout))
				require.Equal(t, "30s", timeout)
			}
		})
	}
}
