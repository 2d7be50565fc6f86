package app

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	pkgconfig "github.com/rampart-platform/rampart/pkg/config"
	pstore "github.com/rampart-platform/rampart/pkg/store"
	"github.com/rampart-platform/rampart/pkg/store/pgtest"
	"github.com/rampart-platform/rampart/services/keyvault/internal/config"
)

func testConfig(t *testing.T, url string) config.Config {
	t.Helper()
	cfg := config.Config{Common: pkgconfig.Defaults("keyvault"), DatabaseURL: url, DBMaxConns: 4, DBStatementTimeout: 5 * time.Second}
	cfg.DataDir = t.TempDir()
	return cfg
}

// A PostgreSQL that does not answer stops the start: the error names the
// setting and the address but never the password.
func TestOpenStoreUnreachablePostgres(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close()) // nothing listens there now

	const password = "pw-Zq81-never-shown"
	cfg := testConfig(t, "postgres://kv:"+password+"@"+addr+"/keyvault?sslmode=disable&password="+password)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	st, err := openStore(ctx, cfg, slog.New(slog.DiscardHandler))
	require.Error(t, err)
	require.Nil(t, st)
	require.ErrorContains(t, err, "RAMPART_KEYVAULT_DATABASE_URL")
	require.ErrorContains(t, err, addr)
	require.NotContains(t, err.Error(), password)
}

// A database migrated by a newer release (a migration this binary does
// not have) refuses the start, on PostgreSQL and on SQLite.
func TestOpenStoreRefusesNewerSchema(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			cfg := testConfig(t, "")
			if dialect == "postgres" {
				cfg.DatabaseURL = pgtest.Start(t)
			}
			log := slog.New(slog.DiscardHandler)
			st, err := openStore(t.Context(), cfg, log)
			require.NoError(t, err)
			d := st.Dialect()
			_, err = st.DB().ExecContext(t.Context(), d.Rebind(`INSERT INTO goose_db_version (version_id, is_applied) VALUES (?, ?)`), 9999, true)
			require.NoError(t, err)
			require.NoError(t, st.Close())

			st, err = openStore(t.Context(), cfg, log)
			require.ErrorIs(t, err, pstore.ErrSchemaTooNew)
			require.ErrorContains(t, err, "9999")
			require.Nil(t, st)
		})
	}
}

// With PostgreSQL configured the pool carries the statement timeout.
func TestOpenStorePostgresSessionSettings(t *testing.T) {
	cfg := testConfig(t, pgtest.Start(t))
	cfg.DBStatementTimeout = 1500 * time.Millisecond
	st, err := openStore(t.Context(), cfg, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	defer st.Close()
	var timeout string
	require.NoError(t, st.DB().QueryRowContext(t.Context(), `SHOW statement_timeout`).Scan(&timeout))
	require.Equal(t, "1500ms", timeout)
	require.Equal(t, 4, st.DB().Stats().MaxOpenConnections)
	_, err = st.DB().ExecContext(t.Context(), `SELECT pg_sleep(3)`)
	require.ErrorContains(t, err, "statement timeout", "the server cancels a statement running too long")
	require.NoError(t, st.Ping(t.Context()), "the pool recovers")
}
