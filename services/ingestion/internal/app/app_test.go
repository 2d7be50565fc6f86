package app_test

import (
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	pstore "github.com/rampart-platform/rampart/pkg/store"
	"github.com/rampart-platform/rampart/pkg/store/pgtest"
	"github.com/rampart-platform/rampart/services/ingestion/internal/app"
	"github.com/rampart-platform/rampart/services/ingestion/internal/config"
	"github.com/rampart-platform/rampart/services/ingestion/internal/store"
)

// TestUnreachableDatabaseStopsTheStart: a PostgreSQL that does not answer
// stops the start with an error naming the setting, without the password.
func TestUnreachableDatabaseStopsTheStart(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := lis.Addr().String()
	require.NoError(t, lis.Close()) // nothing listens there now
	cfg := config.Default()
	cfg.DatabaseURL = "postgres://rampart:hunter2@" + addr + "/ingestion?sslmode=disable"
	_, err = app.Build(t.Context(), cfg, t.TempDir(), nil, nil, nil, slog.New(slog.DiscardHandler), nil, nil)
	require.Error(t, err)
	require.Contains(t, err.Error(), "ingestion store: RAMPART_INGESTION_DATABASE_URL")
	require.Contains(t, err.Error(), addr, "says where it tried")
	require.NotContains(t, err.Error(), "hunter2")
}

// TestMigrateOnly: "ingestion migrate" (the deployment's migration job)
// brings the schema up to date and exits without serving; the service
// then starts on it.
func TestMigrateOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	u := pgtest.Start(t)
	require.NoError(t, app.Run(t.Context(), []string{"migrate", "--database-url", u, "--data-dir", t.TempDir(), "--cert-dir", "/nonexistent"}))
	st, err := store.OpenPostgres(t.Context(), u, pstore.DefaultPoolOptions)
	require.NoError(t, err)
	defer st.Close()
	_, err = st.CreateCollection(t.Context(), store.Collection{Tenant: "a", Name: "kb"})
	require.NoError(t, err, "the schema is there")

	dir := t.TempDir()
	require.NoError(t, app.Run(t.Context(), []string{"migrate", "--data-dir", dir, "--cert-dir", "/nonexistent"}))
	_, err = os.Stat(filepath.Join(dir, "ingestion.db"))
	require.NoError(t, err, "SQLite in the data dir without a URL")
}
