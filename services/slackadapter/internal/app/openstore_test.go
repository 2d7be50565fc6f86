package app

import (
	"io"
	"log/slog"
	"net"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/backend"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/config"
)

// An unreachable PostgreSQL stops the start with an error that names the
// setting and shows the URL without its password.
func TestOpenStoreUnreachablePostgres(t *testing.T) {
	// A port that was just free: nothing listens there.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())

	cfg := config.Default()
	cfg.DatabaseURL = "postgres://slack:s3cret-pw@" + addr + "/rampart?sslmode=disable&password=also-secret"
	env := &backend.Env{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	env.Common.DataDir = t.TempDir()

	st, err := openStore(t.Context(), cfg, env.Common.DataDir, env.Log)
	require.Error(t, err)
	require.Nil(t, st)
	msg := err.Error()
	require.Contains(t, msg, "RAMPART_SLACKADAPTER_DATABASE_URL")
	require.Contains(t, msg, addr, "says where it tried")
	require.NotContains(t, msg, "s3cret-pw")
	require.NotContains(t, msg, "also-secret")
}

// Without DATABASE_URL the embedded SQLite file in the data dir is used.
func TestOpenStoreDefaultsToSQLite(t *testing.T) {
	env := &backend.Env{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	env.Common.DataDir = t.TempDir()
	st, err := openStore(t.Context(), config.Default(), env.Common.DataDir, env.Log)
	require.NoError(t, err)
	require.NoError(t, st.Ping(t.Context()))
	require.Equal(t, "sqlite", st.Dialect().String())
	require.NoError(t, st.Close())
}
