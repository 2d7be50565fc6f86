package store_test

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/store"
	"github.com/rampart-platform/rampart/pkg/store/pgtest"
)

func TestOpenPostgresPoolSettings(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	url := pgtest.Start(t)
	db, err := store.OpenPostgresPool(ctx, url, migrations(t, "postgres"), store.PoolOptions{
		MaxOpen: 3, MaxIdle: 2, MaxLifetime: time.Minute, StatementTimeout: 1200 * time.Millisecond, LockTimeout: 700 * time.Millisecond,
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	require.Equal(t, 3, db.Stats().MaxOpenConnections)
	for name, want := range map[string]string{"statement_timeout": "1200ms", "lock_timeout": "700ms"} {
		var got string
		require.NoError(t, db.QueryRowContext(ctx, "SHOW "+name).Scan(&got))
		require.Equal(t, want, got, name)
	}

	// A timeout given in the URL wins over the pool option.
	db2, err := store.OpenPostgresPool(ctx, url+"&statement_timeout=4000", nil, store.PoolOptions{StatementTimeout: time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db2.Close()) })
	var got string
	require.NoError(t, db2.QueryRowContext(ctx, "SHOW statement_timeout").Scan(&got))
	require.Equal(t, "4s", got)

	_, err = store.OpenPostgresPool(ctx, "postgres://u:pw-x9@[::1", nil, store.DefaultPoolOptions)
	require.ErrorContains(t, err, "does not parse")
	require.NotContains(t, err.Error(), "pw-x9")
}

// A database migrated further than the binary's migrations is refused on
// both dialects.
func TestMigrateRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(d.String(), func(t *testing.T) {
			dsn := filepath.Join(t.TempDir(), "n.db")
			if d == store.Postgres {
				dsn = pgtest.Start(t)
			}
			m := store.Migrations{SQLite: migrations(t, "sqlite"), Postgres: migrations(t, "postgres")}
			db, _, err := store.Open(ctx, dsn, m)
			require.NoError(t, err)
			_, err = db.ExecContext(ctx, d.Rebind("INSERT INTO goose_db_version (version_id, is_applied) VALUES (?, ?)"), 3, true)
			require.NoError(t, err)
			require.NoError(t, db.Close())

			_, _, err = store.Open(ctx, dsn, m)
			require.ErrorIs(t, err, store.ErrSchemaTooNew)
			require.ErrorContains(t, err, "at migration 3, this binary knows up to 2")
		})
	}
}

func TestIsUniqueViolation(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("boom"), false},
		{fmt.Errorf("insert: %w", &pgconn.PgError{Code: "23505"}), true},
		{&pgconn.PgError{Code: "23503"}, false}, // foreign key
		{errors.New("constraint failed: UNIQUE constraint failed: t.id (2067)"), true},
	} {
		require.Equal(t, tt.want, store.IsUniqueViolation(tt.err), "%v", tt.err)
	}
	require.True(t, store.IsSerializationFailure(&pgconn.PgError{Code: "40001"}))
	require.True(t, store.IsSerializationFailure(fmt.Errorf("x: %w", &pgconn.PgError{Code: "40P01"})))
	require.False(t, store.IsSerializationFailure(&pgconn.PgError{Code: "23505"}))
}

func TestIsUnavailable(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain", errors.New("boom"), false},
		{"unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"statement timeout", &pgconn.PgError{Code: "57014"}, false},
		{"connection failure", &pgconn.PgError{Code: "08006"}, true},
		{"admin shutdown", fmt.Errorf("q: %w", &pgconn.PgError{Code: "57P01"}), true},
		{"too many connections", &pgconn.PgError{Code: "53300"}, true},
		{"bad conn", fmt.Errorf("begin: %w", driver.ErrBadConn), true},
		{"refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true},
		{"eof", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), true},
		{"closed by pgx", errors.New("conn closed"), true},
	} {
		require.Equal(t, tt.want, store.IsUnavailable(tt.err), tt.name)
	}

	// The real thing: nothing listens on the port.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	_, err = store.OpenPostgres(t.Context(), "postgres://u@"+addr+"/db?sslmode=disable&connect_timeout=2", nil)
	require.True(t, store.IsUnavailable(err), "%v", err)
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"postgres://kv:s3cret@db.internal:5432/keyvault?sslmode=verify-full&password=s3cret": "postgres://kv:xxxxx@db.internal:5432/keyvault",
		"postgresql://kv@db/keyvault":     "postgresql://kv@db/keyvault",
		"host=db user=kv password=s3cret": "(not shown)",
		"/var/lib/rampart/usage.db":       "/var/lib/rampart/usage.db",
	} {
		require.Equal(t, want, store.RedactURL(in), in)
	}
}
