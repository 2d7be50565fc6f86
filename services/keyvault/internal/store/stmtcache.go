package store

import (
	"context"
	"database/sql"
	"sync"
	"time"

	pstore "github.com/rampart-platform/rampart/pkg/store"
)

// maxCachedStmts bounds the statements kept prepared. The store's SQL is a
// fixed set of strings (ListSecrets' filters add a handful of variants);
// a string beyond the bound simply runs unprepared.
const maxCachedStmts = 128

// prepareTimeout bounds the wait for a pool connection to prepare on.
const prepareTimeout = 5 * time.Second

// stmtCache keeps the statements transactions run prepared on the pool
// (SQLite only: the pure-Go driver parses a statement on every unprepared
// run, ~29 % of a secret write's CPU; PostgreSQL's driver caches prepared
// statements per connection itself). database/sql prepares a pool
// statement on a connection the first time a transaction on that
// connection uses it (Tx.StmtContext), so each of the pool's connections
// parses each statement once.
//
// A statement a transaction finds missing runs unprepared there and is
// prepared after the transaction has ended (prepareWanted): preparing on
// the pool needs a free connection, and inside a transaction every other
// connection may be waiting on SQLite's write lock behind it.
type stmtCache struct {
	db *sql.DB

	mu     sync.RWMutex
	stmts  map[string]*sql.Stmt
	wanted map[string]struct{}
	closed bool
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, stmts: map[string]*sql.Stmt{}, wanted: map[string]struct{}{}}
}

// get returns the prepared statement for query, or nil after noting that
// query is wanted.
func (c *stmtCache) get(query string) *sql.Stmt {
	c.mu.RLock()
	st, ok := c.stmts[query]
	_, noted := c.wanted[query]
	full := len(c.stmts)+len(c.wanted) >= maxCachedStmts
	c.mu.RUnlock()
	if ok || noted || full {
		return st
	}
	c.mu.Lock()
	if !c.closed && len(c.stmts)+len(c.wanted) < maxCachedStmts {
		if _, ok := c.stmts[query]; !ok {
			c.wanted[query] = struct{}{}
		}
	}
	c.mu.Unlock()
	return nil
}

// prepareWanted prepares the statements transactions asked for, outside
// any transaction. A statement that fails to prepare is forgotten (it runs
// unprepared, and reports its own error there).
func (c *stmtCache) prepareWanted(ctx context.Context) {
	c.mu.RLock()
	n := len(c.wanted)
	c.mu.RUnlock()
	if n == 0 {
		return
	}
	c.mu.Lock()
	wanted := c.wanted
	c.wanted = map[string]struct{}{}
	c.mu.Unlock()
	// Not cut short by the request that asked, but bounded: it waits for a
	// free connection.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), prepareTimeout)
	defer cancel()
	for q := range wanted {
		st, err := c.db.PrepareContext(ctx, q)
		if err != nil {
			continue
		}
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			_ = st.Close()
			return
		}
		c.stmts[q] = st
		c.mu.Unlock()
	}
}

// close closes every prepared statement; later transactions run theirs
// unprepared.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for q, st := range c.stmts {
		_ = st.Close()
		delete(c.stmts, q)
	}
	c.wanted = map[string]struct{}{}
}

// preparedTx runs a transaction's statements through the cache: a
// prepared one as the transaction's own copy (Tx.StmtContext, closed with
// the transaction), any other as it is.
type preparedTx struct {
	tx *sql.Tx
	c  *stmtCache
}

func (p preparedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := p.c.get(query); st != nil {
		return p.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return p.tx.ExecContext(ctx, query, args...)
}

func (p preparedTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := p.c.get(query); st != nil {
		return p.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return p.tx.QueryContext(ctx, query, args...)
}

func (p preparedTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := p.c.get(query); st != nil {
		return p.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return p.tx.QueryRowContext(ctx, query, args...)
}

// txQuerier is the querier of one transaction: through the statement
// cache when the store has one (SQLite), rebound for the dialect.
func (s *Store) txQuerier(sqlTx *sql.Tx, db *sql.DB) querier {
	if s.stmts != nil && db == s.db {
		return pstore.Rebound{Q: preparedTx{tx: sqlTx, c: s.stmts}, D: s.d}
	}
	return pstore.Rebound{Q: sqlTx, D: s.d}
}
