package store

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestStmtCache: a statement a transaction runs is prepared once it has
// ended and reused by later transactions, with the same results, commits
// and rollbacks as unprepared; a statement that cannot be prepared keeps
// failing with its own error; the cache is bounded.
func TestStmtCache(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	require.NotNil(t, s.stmts, "SQLite keeps statements prepared")
	_, err = s.db.ExecContext(ctx, `CREATE TABLE stmt_probe (k TEXT PRIMARY KEY, v INTEGER NOT NULL)`)
	require.NoError(t, err)

	const insert = `INSERT INTO stmt_probe (k, v) VALUES (?, ?)`
	const sum = `SELECT COALESCE(SUM(v), 0) FROM stmt_probe WHERE k <> ?`
	prepared := func(q string) bool {
		s.stmts.mu.RLock()
		defer s.stmts.mu.RUnlock()
		_, ok := s.stmts.stmts[q]
		return ok
	}
	total := func() int {
		var n int
		require.NoError(t, s.InTx(ctx, func(tx *Tx) error { return tx.q.QueryRowContext(ctx, sum, "").Scan(&n) }))
		return n
	}

	require.NoError(t, s.InTx(ctx, func(tx *Tx) error {
		_, err := tx.q.ExecContext(ctx, insert, "a", 1)
		return err
	}))
	require.True(t, prepared(insert), "prepared after the transaction that ran it")
	require.Equal(t, 1, total())
	require.True(t, prepared(sum))

	// Prepared now: commits and rollbacks behave as before.
	for i, commit := range []bool{true, false, true} {
		errRollback := errors.New("roll back")
		err := s.InTx(ctx, func(tx *Tx) error {
			if _, err := tx.q.ExecContext(ctx, insert, fmt.Sprint("k", i), 10); err != nil {
				return err
			}
			if !commit {
				return errRollback
			}
			return nil
		})
		if commit {
			require.NoError(t, err)
		} else {
			require.ErrorIs(t, err, errRollback)
		}
	}
	require.Equal(t, 21, total(), "the rolled-back insert is gone")
	// A constraint violation through a prepared statement is reported.
	require.ErrorContains(t, s.InTx(ctx, func(tx *Tx) error {
		_, err := tx.q.ExecContext(ctx, insert, "a", 2)
		return err
	}), "UNIQUE")

	// A statement that does not prepare keeps its own error.
	const bad = `SELECT nope FROM stmt_probe`
	for range 2 {
		err := s.InTx(ctx, func(tx *Tx) error { return tx.q.QueryRowContext(ctx, bad).Scan(new(int)) })
		require.ErrorContains(t, err, "no such column")
		require.False(t, prepared(bad))
	}

	// Bounded: past maxCachedStmts, statements run unprepared.
	for i := range maxCachedStmts + 10 {
		q := fmt.Sprintf(`SELECT COUNT(*) + %d FROM stmt_probe`, i)
		var n int
		require.NoError(t, s.InTx(ctx, func(tx *Tx) error { return tx.q.QueryRowContext(ctx, q).Scan(&n) }))
		require.Equal(t, 3+i, n) // rows a, k0, k2
	}
	s.stmts.mu.RLock()
	require.LessOrEqual(t, len(s.stmts.stmts)+len(s.stmts.wanted), maxCachedStmts)
	s.stmts.mu.RUnlock()
}
