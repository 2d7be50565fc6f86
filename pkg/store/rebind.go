package store

import (
	"context"
	"database/sql"
	"errors"
)

// Querier is what *sql.DB, *sql.Tx and Rebound have in common: a service's
// store methods take one, so they run on the pool or in a transaction.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Rebound runs queries written once with "?" placeholders on Q, rewritten
// for the dialect D on the way through (Dialect.Rebind), so a store's SQL
// serves SQLite and PostgreSQL alike.
type Rebound struct {
	Q Querier
	D Dialect
}

// ExecContext executes the rebound query.
func (r Rebound) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return r.Q.ExecContext(ctx, r.D.Rebind(query), args...)
}

// QueryContext runs the rebound query.
func (r Rebound) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return r.Q.QueryContext(ctx, r.D.Rebind(query), args...)
}

// QueryRowContext runs the rebound query for one row.
func (r Rebound) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return r.Q.QueryRowContext(ctx, r.D.Rebind(query), args...)
}

// ErrPrepareOutsideTx is PrepareContext's answer on a pool: a statement
// prepared there would be prepared again on every connection it meets.
var ErrPrepareOutsideTx = errors.New("store: statements are only prepared in transactions")

// PrepareContext prepares the rebound statement; only a Rebound over a
// transaction prepares.
func (r Rebound) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	tx, ok := r.Q.(*sql.Tx)
	if !ok {
		return nil, ErrPrepareOutsideTx
	}
	return tx.PrepareContext(ctx, r.D.Rebind(query))
}
