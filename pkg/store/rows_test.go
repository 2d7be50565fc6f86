package store

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCollectRows(t *testing.T) {
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "rows.db"))
	require.NoError(t, err)
	defer db.Close()
	ctx := context.Background()
	_, err = db.ExecContext(ctx, `CREATE TABLE t (n INTEGER); INSERT INTO t VALUES (1), (2), (3)`)
	require.NoError(t, err)

	scanInt := func(sc Scanner) (int, error) {
		var n int
		return n, sc.Scan(&n)
	}
	rows, err := db.QueryContext(ctx, `SELECT n FROM t ORDER BY n`)
	require.NoError(t, err)
	got, err := CollectRows(rows, scanInt)
	require.NoError(t, err)
	require.Equal(t, []int{1, 2, 3}, got)

	boom := errors.New("bad row")
	rows, err = db.QueryContext(ctx, `SELECT n FROM t`)
	require.NoError(t, err)
	_, err = CollectRows(rows, func(Scanner) (int, error) { return 0, boom })
	require.ErrorIs(t, err, boom)

	rows, err = db.QueryContext(ctx, `SELECT n FROM t WHERE n > 9`)
	require.NoError(t, err)
	got, err = CollectRows(rows, scanInt)
	require.NoError(t, err)
	require.Empty(t, got)

	rows, err = db.QueryContext(ctx, `SELECT 't' || n FROM t ORDER BY n`)
	require.NoError(t, err)
	names, err := CollectRows(rows, ScanColumn[string])
	require.NoError(t, err)
	require.Equal(t, []string{"t1", "t2", "t3"}, names)

	rows, err = db.QueryContext(ctx, `SELECT 'x' FROM t`)
	require.NoError(t, err)
	_, err = CollectRows(rows, ScanColumn[int])
	require.Error(t, err, "a column that is not a T")
}
