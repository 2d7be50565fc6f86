package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	pstore "github.com/rampart-platform/rampart/pkg/store"
)

// Rollup granularities: the width of a usage_rollups bucket.
const (
	Hourly = time.Hour
	Daily  = 24 * time.Hour
)

// BucketStart is the start of the UTC bucket of width w that holds at:
// the Unix epoch is midnight UTC, so hour and day buckets are the integer
// division the SQL does (created_at_ms / w * w).
func BucketStart(at time.Time, w time.Duration) time.Time {
	ms, wm := at.UnixMilli(), w.Milliseconds()
	b := ms / wm * wm
	if ms < 0 && ms%wm != 0 { // floor, not truncation toward zero
		b -= wm
	}
	return time.UnixMilli(b).UTC()
}

// rollupLevel describes one step: the rows it folds (raw usage_records or
// hourly usage_rollups) and the bucket width they are folded into.
type rollupLevel struct {
	table string
	// norm selects a source row's columns under the names the rollup
	// insert reads: tenant_id, key_id, model, at_ms, requests,
	// prompt_tokens, completion_tokens, estimated_requests, latency_us,
	// cost_micro_usd.
	norm string
	// cand filters the rows due (parameter: cutoff).
	cand string
	// order is the batching column and head the largest value of it among
	// the first batch-size rows past the cursor (parameters: after, limit):
	// a batch is the due rows past the cursor up to head.
	order, head string
	width       time.Duration
}

var hourlyMS = strconv.FormatInt(Hourly.Milliseconds(), 10)

var (
	rawLevel = rollupLevel{
		table: "usage_records",
		norm: `tenant_id, key_id, model, created_at_ms AS at_ms, 1 AS requests, prompt_tokens, completion_tokens,
			estimated AS estimated_requests, latency_us, cost_micro_usd`,
		cand: `created_at_ms < ?`,
		// Ids grow with time (rows are inserted as requests finish), so the
		// oldest rows are at the head of the primary key: a batch reads the
		// first rows by id and never scans the whole table, even when
		// nothing is old enough (usage_records has no index on time alone:
		// it would cost every insert).
		order: "id",
		head:  `SELECT MAX(id) FROM (SELECT id FROM usage_records WHERE id > ? ORDER BY id LIMIT ?) h0`,
		width: Hourly,
	}
	hourlyLevel = rollupLevel{
		table: "usage_rollups",
		norm: `tenant_id, key_id, model, bucket_start_ms AS at_ms, requests, prompt_tokens, completion_tokens,
			estimated_requests, latency_us, cost_micro_usd`,
		cand:  `bucket_ms = ` + hourlyMS + ` AND bucket_start_ms < ?`,
		order: "bucket_start_ms",
		head: `SELECT MAX(bucket_start_ms) FROM (SELECT bucket_start_ms FROM usage_rollups WHERE bucket_ms = ` + hourlyMS +
			` AND bucket_start_ms > ? ORDER BY bucket_start_ms LIMIT ?) h0`,
		width: Daily,
	}
)

// insertRollup sums the normalised rows of from (a table expression) into
// buckets of the level's width, adding to existing buckets.
func (l rollupLevel) insertRollup(from string) string {
	w := strconv.FormatInt(l.width.Milliseconds(), 10)
	bucket := `(at_ms / ` + w + `) * ` + w
	// "WHERE true": SQLite needs it to parse ON CONFLICT after INSERT ... SELECT.
	return `INSERT INTO usage_rollups (tenant_id, key_id, model, bucket_ms, bucket_start_ms, requests, prompt_tokens,
			completion_tokens, estimated_requests, latency_us, cost_micro_usd)
		SELECT tenant_id, key_id, model, ` + w + `, ` + bucket + `, SUM(requests), SUM(prompt_tokens), SUM(completion_tokens),
			SUM(estimated_requests), SUM(latency_us), SUM(cost_micro_usd)
		FROM ` + from + ` WHERE true
		GROUP BY tenant_id, key_id, model, ` + bucket + `
		ORDER BY tenant_id, key_id, model, ` + bucket + `
		ON CONFLICT (tenant_id, key_id, model, bucket_ms, bucket_start_ms) DO UPDATE SET
			requests = usage_rollups.requests + excluded.requests,
			prompt_tokens = usage_rollups.prompt_tokens + excluded.prompt_tokens,
			completion_tokens = usage_rollups.completion_tokens + excluded.completion_tokens,
			estimated_requests = usage_rollups.estimated_requests + excluded.estimated_requests,
			latency_us = usage_rollups.latency_us + excluded.latency_us,
			cost_micro_usd = usage_rollups.cost_micro_usd + excluded.cost_micro_usd`
}

// deleteDue deletes the source rows that match pred (SQLite path).
func (l rollupLevel) deleteDue(pred string) string {
	return `DELETE FROM ` + l.table + ` WHERE ` + pred
}

// Cursor is where the next rollup batch of a pass starts; the zero value
// is the beginning. Passing the previous batch's cursor matters on
// PostgreSQL: deleted rows stay in the index until vacuumed, and starting
// every batch from the beginning made a pass quadratic (767k rows took
// 3.5 minutes).
type Cursor struct {
	after   int64
	started bool
}

func (c Cursor) pos() int64 {
	if !c.started {
		return math.MinInt64
	}
	return c.after
}

// RollUpRaw folds one batch (about batch rows past from) of usage records
// created before cutoff into hourly rollups and deletes them, in one
// transaction: a usage query sees each request either as a raw row or
// inside a rollup, never both, never neither. It returns how many raw rows
// it folded (0: nothing more is due) and the cursor of the next batch.
func (s *Store) RollUpRaw(ctx context.Context, cutoff time.Time, from Cursor, batch int) (int64, Cursor, error) {
	return s.rollUp(ctx, rawLevel, cutoff, from, batch)
}

// RollUpHourly folds one batch of hourly rollups that start before cutoff
// into daily ones, like RollUpRaw.
func (s *Store) RollUpHourly(ctx context.Context, cutoff time.Time, from Cursor, batch int) (int64, Cursor, error) {
	return s.rollUp(ctx, hourlyLevel, cutoff, from, batch)
}

func (s *Store) rollUp(ctx context.Context, l rollupLevel, cutoff time.Time, from Cursor, batch int) (int64, Cursor, error) {
	if batch <= 0 {
		return 0, from, errors.New("usage store: rollup batch must be positive")
	}
	c, after := cutoff.UnixMilli(), from.pos()
	if s.d == pstore.Postgres {
		// One statement: the batch is locked with SKIP LOCKED (a second
		// sweeper takes other rows or none), deleted, and what the DELETE
		// returned is what is summed, so no row is counted twice or lost
		// even if rows arrive while it runs.
		q := `WITH h AS (` + l.head + `),
			batch AS (SELECT id FROM ` + l.table + ` WHERE ` + l.cand + ` AND ` + l.order + ` > ? AND ` + l.order + ` <= (SELECT * FROM h) FOR UPDATE SKIP LOCKED),
			moved AS (DELETE FROM ` + l.table + ` t USING batch b WHERE t.id = b.id RETURNING ` + l.norm + `),
			ins AS (` + l.insertRollup(`moved`) + `)
			SELECT (SELECT COUNT(*) FROM moved), (SELECT * FROM h)`
		var n int64
		var hi *int64
		if err := s.db.QueryRowContext(ctx, s.d.Rebind(q), after, batch, c, after).Scan(&n, &hi); err != nil {
			return 0, from, fmt.Errorf("usage store: rollup: %w", err)
		}
		if hi == nil {
			return 0, from, nil
		}
		return n, Cursor{after: *hi, started: true}, nil
	}
	// SQLite: the transaction is BEGIN IMMEDIATE (pkg/store), so no other
	// writer runs between the bound, the INSERT and the DELETE; both use
	// the same predicate over the same rows.
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, from, fmt.Errorf("usage store: rollup begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	var hi *int64
	if err := tx.QueryRowContext(ctx, l.head, after, batch).Scan(&hi); err != nil {
		return 0, from, fmt.Errorf("usage store: rollup bound: %w", err)
	}
	if hi == nil {
		return 0, from, nil
	}
	pred := l.cand + ` AND ` + l.order + ` > ? AND ` + l.order + ` <= ?`
	if _, err := tx.ExecContext(ctx, l.insertRollup(`(SELECT `+l.norm+` FROM `+l.table+` WHERE `+pred+`) m`), c, after, *hi); err != nil {
		return 0, from, fmt.Errorf("usage store: rollup insert: %w", err)
	}
	res, err := tx.ExecContext(ctx, l.deleteDue(pred), c, after, *hi)
	if err != nil {
		return 0, from, fmt.Errorf("usage store: rollup delete: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, from, fmt.Errorf("usage store: rollup delete: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, from, fmt.Errorf("usage store: rollup commit: %w", err)
	}
	return n, Cursor{after: *hi, started: true}, nil
}

// TryLease takes or renews the lease name for holder until now+ttl and
// reports whether holder has it: the row is only overwritten when holder
// already had it or it expired, in one statement, so of several replicas
// asking at once exactly one gets it.
func (s *Store) TryLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.d.Rebind(`INSERT INTO sweep_leases (name, holder, expires_at_ms) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at_ms = excluded.expires_at_ms
		WHERE sweep_leases.holder = excluded.holder OR sweep_leases.expires_at_ms <= ?`),
		name, holder, now.Add(ttl).UnixMilli(), now.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("usage store: lease: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("usage store: lease: %w", err)
	}
	return n == 1, nil
}

// ReleaseLease gives up holder's lease name (at shutdown), so another
// replica need not wait for it to expire.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	_, err := s.db.ExecContext(ctx, s.d.Rebind(`UPDATE sweep_leases SET expires_at_ms = 0 WHERE name = ? AND holder = ?`), name, holder)
	if err != nil {
		return fmt.Errorf("usage store: release lease: %w", err)
	}
	return nil
}

// PromptLogTenants lists the tenants that have (or had) prompt logs: every
// logged tenant has a data key row.
func (s *Store) PromptLogTenants(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT tenant_id FROM prompt_log_keys ORDER BY tenant_id`)
	if err != nil {
		return nil, fmt.Errorf("prompt logs: tenants: %w", err)
	}
	out, err := pstore.CollectRows(rows, pstore.ScanColumn[string])
	if err != nil {
		return nil, fmt.Errorf("prompt logs: tenants: %w", err)
	}
	return out, nil
}

// PurgePromptLogs deletes up to limit of the tenant's prompt logs created
// before cutoff (oldest first) and returns how many it deleted. Deleting is
// idempotent: two replicas purging at once delete each row once.
func (s *Store) PurgePromptLogs(ctx context.Context, tenant string, cutoff time.Time, limit int) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.d.Rebind(`DELETE FROM prompt_logs WHERE id IN
		(SELECT id FROM prompt_logs WHERE tenant_id = ? AND created_at_ms < ? ORDER BY created_at_ms, id LIMIT ?)`),
		tenant, cutoff.UnixMilli(), limit)
	if err != nil {
		return 0, fmt.Errorf("prompt logs: purge: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("prompt logs: purge: %w", err)
	}
	return n, nil
}

// RowCounts is how many rows each usage table level holds.
type RowCounts struct {
	Raw, Hourly, Daily int64
}

// UsageRowCounts counts the raw rows and the hourly and daily rollups
// (tests, and the size measurement in docs/performance.md).
func (s *Store) UsageRowCounts(ctx context.Context) (RowCounts, error) {
	var c RowCounts
	err := s.db.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM usage_records),
		(SELECT COUNT(*) FROM usage_rollups WHERE bucket_ms = `+hourlyMS+`),
		(SELECT COUNT(*) FROM usage_rollups WHERE bucket_ms = `+strconv.FormatInt(Daily.Milliseconds(), 10)+`)`).Scan(&c.Raw, &c.Hourly, &c.Daily)
	if err != nil {
		return c, fmt.Errorf("usage store: count: %w", err)
	}
	return c, nil
}
