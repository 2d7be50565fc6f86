package pgtest_test

import (
	"database/sql"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/store/pgtest"
)

func TestStart(t *testing.T) {
	t.Parallel()
	url := pgtest.Start(t)
	require.True(t, strings.HasPrefix(url, "postgres://postgres@127.0.0.1:"), url)

	db, err := sql.Open("pgx", url)
	require.NoError(t, err)
	defer db.Close()
	var name, version string
	require.NoError(t, db.QueryRowContext(t.Context(), "SELECT current_database(), current_setting('server_version')").Scan(&name, &version))
	require.Equal(t, pgtest.Database, name)
	t.Logf("PostgreSQL %s at %s", version, url)

	var n int
	require.NoError(t, db.QueryRowContext(t.Context(),
		"SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&n))
	require.Zero(t, n, "the database starts empty")
}

func TestStartTwiceGivesIndependentServers(t *testing.T) {
	t.Parallel()
	a, b := pgtest.Start(t), pgtest.Start(t)
	require.NotEqual(t, a, b)
}

// TestFreshDatabase: each call gives another empty database on the same
// server; what one holds the other does not see.
func TestFreshDatabase(t *testing.T) {
	t.Parallel()
	server := pgtest.Start(t)
	a, b := pgtest.FreshDatabase(t, server, "fresh"), pgtest.FreshDatabase(t, server, "fresh")
	require.NotEqual(t, a, b)
	dbA, err := sql.Open("pgx", a)
	require.NoError(t, err)
	defer dbA.Close()
	_, err = dbA.ExecContext(t.Context(), "CREATE TABLE only_in_a (x int)")
	require.NoError(t, err)
	dbB, err := sql.Open("pgx", b)
	require.NoError(t, err)
	defer dbB.Close()
	var n int
	require.NoError(t, dbB.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM pg_tables WHERE tablename = 'only_in_a'").Scan(&n))
	require.Zero(t, n)
}
