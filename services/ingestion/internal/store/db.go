package store

import (
	"context"
	"database/sql"

	"github.com/rampart-platform/rampart/pkg/store"
)

// querier is a pool or a transaction, with queries rebound for the dialect
// (store.Rebound; it prepares statements only in transactions).
type querier = store.Querier

// beginTx starts a transaction whose queries are rebound too. SQLite
// transactions begin IMMEDIATE (pkg/store), so they are serialised; on
// PostgreSQL read-modify-write transactions lock their rows explicitly.
func (s *Store) beginTx(ctx context.Context) (*sql.Tx, store.Rebound, error) {
	tx, err := s.raw.BeginTx(ctx, nil)
	if err != nil {
		return nil, store.Rebound{}, err
	}
	return tx, store.Rebound{Q: tx, D: s.d}, nil
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
