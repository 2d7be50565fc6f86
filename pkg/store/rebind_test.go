package store_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/store"
)

// recorder is a Querier that records the query it was given.
type recorder struct{ got []string }

var errRecorded = errors.New("recorded")

func (r *recorder) ExecContext(_ context.Context, q string, _ ...any) (sql.Result, error) {
	r.got = append(r.got, q)
	return nil, errRecorded
}

func (r *recorder) QueryContext(_ context.Context, q string, _ ...any) (*sql.Rows, error) {
	r.got = append(r.got, q)
	return nil, errRecorded
}

func (r *recorder) QueryRowContext(_ context.Context, q string, _ ...any) *sql.Row {
	r.got = append(r.got, q)
	return nil
}

func TestRebound(t *testing.T) {
	const q = "SELECT a FROM t WHERE tenant = ? AND id = ?"
	tests := []struct {
		name string
		d    store.Dialect
		want string
	}{
		{"SQLite keeps ?", store.SQLite, q},
		{"PostgreSQL numbers them", store.Postgres, "SELECT a FROM t WHERE tenant = $1 AND id = $2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			r := store.Rebound{Q: rec, D: tt.d}
			_, err := r.ExecContext(t.Context(), q)
			require.ErrorIs(t, err, errRecorded)
			_, err = r.QueryContext(t.Context(), q)
			require.ErrorIs(t, err, errRecorded)
			_ = r.QueryRowContext(t.Context(), q)
			require.Equal(t, []string{tt.want, tt.want, tt.want}, rec.got)
		})
	}
}

func TestReboundPreparesOnlyInTransactions(t *testing.T) {
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "p.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	_, err = store.Rebound{Q: db, D: store.SQLite}.PrepareContext(t.Context(), "SELECT ?")
	require.ErrorIs(t, err, store.ErrPrepareOutsideTx)

	tx, err := db.BeginTx(t.Context(), nil)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback() }()
	st, err := store.Rebound{Q: tx, D: store.SQLite}.PrepareContext(t.Context(), "SELECT ?")
	require.NoError(t, err)
	defer st.Close()
	var got int
	require.NoError(t, st.QueryRowContext(t.Context(), 7).Scan(&got))
	require.Equal(t, 7, got)
}
