package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rampart-platform/rampart/pkg/store"
)

//go:embed migrations
var migrations embed.FS

// Record is one request's usage.
type Record struct {
	Tenant, Key, Model, RequestID  string
	PromptTokens, CompletionTokens int64
	Estimated                      bool
	Latency                        time.Duration
	CostMicroUSD                   int64
	At                             time.Time
}

// Bucket is grouped usage.
type Bucket struct {
	Group                          string
	Requests                       int64
	PromptTokens, CompletionTokens int64
	CostMicroUSD                   int64
}

// Grouping of usage queries.
const (
	ByKey   = "key"
	ByModel = "model"
	ByDay   = "day"
)

// Store is the usage store.
type Store struct {
	db *sql.DB
	d  store.Dialect

	// inserts caches the prepared INSERT for each power-of-two row count
	// up to rowsPerInsert (7 statements), in two forms (insertKey.shared):
	// the recorder's batches vary in size, and parsing a 64-row INSERT for
	// every batch was a visible share of inference's CPU under load (issue
	// 15). One statement per row count (64 of them) kept ~3 MB of compiled
	// SQLite programs in an idle process (ADR 0056); a batch of n rows now
	// runs one statement per set bit of n below 64 besides its full chunks.
	mu      sync.Mutex
	inserts map[insertKey]*sql.Stmt
}

// insertKey names a prepared INSERT: its row count, and whether its rows
// share one tenant, key and model bound once for the statement (shared:
// three parameters instead of three per row; ADR 0108).
type insertKey struct {
	rows   int
	shared bool
}

// Open opens dsn (SQLite file path or postgres:// URL) and migrates it.
func Open(ctx context.Context, dsn string) (*Store, error) {
	lite, err := store.MigrationsFor(migrations, store.SQLite)
	if err != nil {
		return nil, err
	}
	pg, err := store.MigrationsFor(migrations, store.Postgres)
	if err != nil {
		return nil, err
	}
	db, d, err := store.OpenWith(ctx, dsn, store.Migrations{SQLite: lite, Postgres: pg}, store.SQLiteOptions{CacheKiB: sqliteCacheKiB})
	if err != nil {
		return nil, fmt.Errorf("usage store: %w", err)
	}
	return &Store{db: db, d: d, inserts: map[insertKey]*sql.Stmt{}}, nil
}

// insertStmt returns the prepared INSERT of k.
func (s *Store) insertStmt(ctx context.Context, k insertKey) (*sql.Stmt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.inserts[k]; ok {
		return st, nil
	}
	st, err := s.db.PrepareContext(ctx, insertSQL(s.d, k))
	if err != nil {
		return nil, err
	}
	s.inserts[k] = st
	return st, nil
}

// sqliteCacheKiB bounds the SQLite page cache of each connection (SQLite's
// default is 2,000 KiB): the usage database is written in batches and read
// by usage queries and quota sums, which the operating system's file cache
// serves nearly as well; the 2 MB cache stayed resident in an idle process
// (ADR 0056).
const sqliteCacheKiB = 512

// rowsPerInsert is how many rows one INSERT statement carries: one
// statement per 64 rows instead of per row (10 parameters per row, far
// below either database's parameter limit).
const rowsPerInsert = 64

// chunkSizes splits n rows into INSERT statements: full chunks of
// rowsPerInsert, then one power of two per set bit of the remainder, largest
// first (so at most 7 distinct statements are ever prepared).
func chunkSizes(n int) []int {
	sizes := make([]int, 0, n/rowsPerInsert+bits.OnesCount(uint(n%rowsPerInsert)))
	for ; n >= rowsPerInsert; n -= rowsPerInsert {
		sizes = append(sizes, rowsPerInsert)
	}
	for b := rowsPerInsert / 2; b > 0; b /= 2 {
		if n&b != 0 {
			sizes = append(sizes, b)
		}
	}
	return sizes
}

// insertColumns are usage_records' columns in the order Insert binds them:
// the three a shared statement binds once first.
const insertColumns = `INSERT INTO usage_records (tenant_id, key_id, model, request_id, prompt_tokens, completion_tokens, estimated, latency_us, cost_micro_usd, created_at_ms) VALUES `

// insertSQL is the INSERT of k.rows rows. Unshared, every row has its ten
// parameters. Shared, every row names parameters 1–3 (tenant, key and
// model, bound once) and has seven of its own: SQLite's `?1, ?2, ?3`
// followed by anonymous `?`s, which number on from the largest so far
// (named parameters cost the driver a name look-up each, anonymous ones
// none), PostgreSQL's `$1, $2, $3` and `$n` numbered on.
func insertSQL(d store.Dialect, k insertKey) string {
	var b strings.Builder
	b.WriteString(insertColumns)
	next := 4 // the next row parameter's number (shared)
	for i := range k.rows {
		if i > 0 {
			b.WriteByte(',')
		}
		switch {
		case !k.shared:
			b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
		case d == store.Postgres:
			b.WriteString("($1, $2, $3")
			for range 7 {
				b.WriteString(", $")
				b.WriteString(strconv.Itoa(next))
				next++
			}
			b.WriteByte(')')
		default:
			b.WriteString("(?1, ?2, ?3, ?, ?, ?, ?, ?, ?, ?)")
		}
	}
	if k.shared {
		return b.String()
	}
	return d.Rebind(b.String())
}

// Close closes the database.
func (s *Store) Close() error {
	s.mu.Lock()
	errs := make([]error, 0, len(s.inserts)+1)
	for _, st := range s.inserts {
		errs = append(errs, st.Close())
	}
	clear(s.inserts)
	s.mu.Unlock()
	return errors.Join(append(errs, s.db.Close())...)
}

// Insert writes records in one transaction: all or none.
func (s *Store) Insert(ctx context.Context, recs []Record) (err error) {
	if len(recs) == 0 {
		return nil
	}
	// Prepared before the transaction: preparing takes a pooled connection,
	// which a pool of one would not have while the transaction holds it.
	sizes := chunkSizes(len(recs))
	stmts := make([]*sql.Stmt, len(sizes))
	shared := make([]bool, len(sizes))
	for i, rest := 0, recs; i < len(sizes); i++ {
		n := sizes[i]
		shared[i] = oneCaller(rest[:n])
		if stmts[i], err = s.insertStmt(ctx, insertKey{rows: n, shared: shared[i]}); err != nil {
			return fmt.Errorf("usage store: prepare insert: %w", err)
		}
		rest = rest[n:]
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("usage store: begin: %w", err)
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, tx.Rollback())
		}
	}()
	args := make([]any, 0, 10*sizes[0])
	var tenant, key, model boxed
	for i, n := range sizes {
		args = args[:0]
		if shared[i] {
			// Tenant, key and model once: SQLite copies every text value
			// it binds into C memory (modernc's bindText), three of four
			// per row here, all the same in most batches (ADR 0108).
			r := recs[0]
			args = append(args, tenant.of(r.Tenant), key.of(r.Key), model.of(r.Model))
		}
		for _, r := range recs[:n] {
			// int64, not int: database/sql passes a driver.Value type
			// through as it is and converts anything else by reflection,
			// per row (issue 15, ADR 0089).
			est := int64(0)
			if r.Estimated {
				est = 1
			}
			if !shared[i] {
				args = append(args, tenant.of(r.Tenant), key.of(r.Key), model.of(r.Model))
			}
			args = append(args, r.RequestID, r.PromptTokens, r.CompletionTokens,
				est, r.Latency.Microseconds(), r.CostMicroUSD, r.At.UnixMilli())
		}
		if _, err := tx.StmtContext(ctx, stmts[i]).ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("usage store: insert: %w", err)
		}
		recs = recs[n:]
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("usage store: commit: %w", err)
	}
	return nil
}

// oneCaller reports whether recs share one tenant, key and model (a
// statement of more than one row; one row binds each value once anyway).
func oneCaller(recs []Record) bool {
	if len(recs) < 2 {
		return false
	}
	f := recs[0]
	for _, r := range recs[1:] {
		if r.Tenant != f.Tenant || r.Key != f.Key || r.Model != f.Model {
			return false
		}
	}
	return true
}

// boxed is the last string a column was bound to, as an interface value:
// the rows of a batch mostly repeat their tenant, key and model, and
// putting a string into an interface allocates, three times per row
// (issue 15). The value bound is the same.
type boxed struct {
	s string
	v any
}

func (b *boxed) of(s string) any {
	if b.v == nil || s != b.s {
		b.s, b.v = s, s
	}
	return b.v
}

// TokensSince sums a tenant's tokens since t; key "" sums the whole tenant.
// It reads raw rows and rollups in one statement (one snapshot), so a
// rollup running at the same time neither hides nor doubles a request.
// Rollup buckets count when they start at or after since: exact for the
// month starts the quota asks for (see Usage).
func (s *Store) TokensSince(ctx context.Context, tenant, key string, since time.Time) (int64, error) {
	keyCond := ""
	args := []any{tenant, since.UnixMilli()}
	if key != "" {
		keyCond = ` AND key_id = ?`
		args = append(args, key)
	}
	args = append(args, args...)
	q := `SELECT CAST(COALESCE(SUM(t), 0) AS BIGINT) FROM (
		SELECT SUM(prompt_tokens + completion_tokens) AS t FROM usage_records WHERE tenant_id = ? AND created_at_ms >= ?` + keyCond + `
		UNION ALL
		SELECT SUM(prompt_tokens + completion_tokens) FROM usage_rollups WHERE tenant_id = ? AND bucket_start_ms >= ?` + keyCond + `
	) u`
	var n int64
	if err := s.db.QueryRowContext(ctx, s.d.Rebind(q), args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("usage store: sum: %w", err)
	}
	return n, nil
}

// Usage groups a tenant's usage in [from, to), over raw rows and rollups
// in one statement. A rollup bucket (an hour, or a day once hourly rows
// are rolled up too) counts when its start is in [from, to): ranges whose
// ends fall on the bucket boundaries of the data they cover are exact; a
// range ending mid-hour inside rolled-up data counts whole hours.
func (s *Store) Usage(ctx context.Context, tenant string, from, to time.Time, groupBy string) ([]Bucket, error) {
	var raw, rolled string
	switch groupBy {
	case ByKey:
		raw, rolled = "key_id", "key_id"
	case ByModel:
		raw, rolled = "model", "model"
	case ByDay:
		raw, rolled = "created_at_ms / 86400000", "bucket_start_ms / 86400000"
	default:
		return nil, fmt.Errorf("usage store: unknown grouping %q", groupBy)
	}
	q := `SELECT g, CAST(SUM(n) AS BIGINT), CAST(SUM(p) AS BIGINT), CAST(SUM(c) AS BIGINT), CAST(SUM(cost) AS BIGINT) FROM (
		SELECT ` + raw + ` AS g, COUNT(*) AS n, SUM(prompt_tokens) AS p, SUM(completion_tokens) AS c, SUM(cost_micro_usd) AS cost
		FROM usage_records WHERE tenant_id = ? AND created_at_ms >= ? AND created_at_ms < ? GROUP BY ` + raw + `
		UNION ALL
		SELECT ` + rolled + `, SUM(requests), SUM(prompt_tokens), SUM(completion_tokens), SUM(cost_micro_usd)
		FROM usage_rollups WHERE tenant_id = ? AND bucket_start_ms >= ? AND bucket_start_ms < ? GROUP BY ` + rolled + `
	) u GROUP BY g ORDER BY 1`
	f, t := from.UnixMilli(), to.UnixMilli()
	rows, err := s.db.QueryContext(ctx, s.d.Rebind(q), tenant, f, t, tenant, f, t)
	if err != nil {
		return nil, fmt.Errorf("usage store: query: %w", err)
	}
	defer rows.Close()
	var out []Bucket
	for rows.Next() {
		var b Bucket
		var g any
		if err := rows.Scan(&g, &b.Requests, &b.PromptTokens, &b.CompletionTokens, &b.CostMicroUSD); err != nil {
			return nil, fmt.Errorf("usage store: scan: %w", err)
		}
		switch v := g.(type) {
		case int64:
			b.Group = time.UnixMilli(v * 86400000).UTC().Format(time.DateOnly)
		case string:
			b.Group = v
		case []byte:
			b.Group = string(v)
		default:
			b.Group = fmt.Sprint(v)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("usage store: rows: %w", err)
	}
	return out, nil
}
