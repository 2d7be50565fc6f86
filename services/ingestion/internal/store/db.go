package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/rampart-platform/rampart/pkg/store"
)

type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// rebinding rewrites "?" placeholders for the dialect on the way through.
type rebinding struct {
	q querier
	d store.Dialect
}

func (r rebinding) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return r.q.ExecContext(ctx, r.d.Rebind(query), args...)
}

func (r rebinding) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return r.q.QueryContext(ctx, r.d.Rebind(query), args...)
}

func (r rebinding) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return r.q.QueryRowContext(ctx, r.d.Rebind(query), args...)
}

// PrepareContext prepares a rebound statement; only transactions prepare.
func (r rebinding) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	tx, ok := r.q.(*sql.Tx)
	if !ok {
		return nil, errors.New("ingestion store: statements are only prepared in transactions")
	}
	return tx.PrepareContext(ctx, r.d.Rebind(query))
}

// beginTx starts a transaction whose queries are rebound too. SQLite
// transactions begin IMMEDIATE (pkg/store), so they are serialised; on
// PostgreSQL read-modify-write transactions lock their rows explicitly.
func (s *Store) beginTx(ctx context.Context) (*sql.Tx, rebinding, error) {
	tx, err := s.raw.BeginTx(ctx, nil)
	if err != nil {
		return nil, rebinding{}, err
	}
	return tx, rebinding{q: tx, d: s.d}, nil
}

// forUpdate is the row-locking clause of a SELECT in a read-modify-write
// transaction: FOR UPDATE on PostgreSQL, nothing on SQLite (whose write
// transactions are serialised already).
func (s *Store) forUpdate() string {
	if s.d == store.Postgres {
		return " FOR UPDATE"
	}
	return ""
}
