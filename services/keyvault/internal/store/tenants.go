package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	pstore "github.com/rampart-platform/rampart/pkg/store"
)

// secureDelete makes SQLite overwrite deleted content with zeros on this
// transaction's connection, so erased key material and values do not
// linger in free pages of the database file. PostgreSQL has no such
// setting: dead row versions stay until VACUUM reuses their space (see
// [Store.Compact]); the values in them are sealed under the destroyed keys.
func (t *Tx) secureDelete(ctx context.Context) error {
	if t.d == pstore.Postgres {
		return nil
	}
	if _, err := t.q.ExecContext(ctx, `PRAGMA secure_delete = ON`); err != nil {
		return fmt.Errorf("store: secure_delete: %w", err)
	}
	return nil
}

// ShredResult reports an erased tenant.
type ShredResult struct {
	ShreddedAt     time.Time
	SecretsErased  int
	AlreadyErased  bool
	KeyVersionsCut int
}

// EraseTenant erases everything keyvault stores for the tenant in one
// transaction: secrets, versions, labels, tags, data keys, and the wrapped
// key-encryption keys (tombstones without key material stay, so versions
// are never reused and no new key is made for the tenant). Deleted content
// is overwritten (secure_delete); the caller then runs [Store.Compact] so
// the file keeps no older copy. It records the tenant as shredded;
// a repeated call reports the first time.
func (s *Store) EraseTenant(ctx context.Context, tenant string, now time.Time) (ShredResult, error) {
	var out ShredResult
	err := s.InTx(ctx, func(tx *Tx) error {
		if err := tx.secureDelete(ctx); err != nil {
			return err
		}
		var at int64
		switch err := tx.q.QueryRowContext(ctx, `SELECT shredded_at FROM shredded_tenants WHERE tenant_id = ?`, tenant).Scan(&at); {
		case err == nil:
			out.AlreadyErased, out.ShreddedAt = true, fromNanos(at)
		case errors.Is(err, sql.ErrNoRows):
			out.ShreddedAt = now
			if _, err := tx.q.ExecContext(ctx, `INSERT INTO shredded_tenants (tenant_id, shredded_at) VALUES (?, ?)`, tenant, nanos(now)); err != nil {
				return fmt.Errorf("store: record shred: %w", err)
			}
			if err := tx.appendShredEvent(ctx, tenant, now); err != nil {
				return err
			}
		default:
			return fmt.Errorf("store: shred: %w", err)
		}
		var n int64
		if err := tx.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM secrets WHERE tenant_id = ?`, tenant).Scan(&n); err != nil {
			return fmt.Errorf("store: shred: %w", err)
		}
		out.SecretsErased = int(n)
		for _, q := range []string{
			`DELETE FROM version_stages WHERE tenant_id = ?`,
			`DELETE FROM secret_versions WHERE tenant_id = ?`,
			`DELETE FROM secret_tags WHERE tenant_id = ?`,
			`DELETE FROM secrets WHERE tenant_id = ?`,
			`DELETE FROM tenant_deks WHERE tenant_id = ?`,
		} {
			if _, err := tx.q.ExecContext(ctx, q, tenant); err != nil {
				return fmt.Errorf("store: shred: %w", err)
			}
		}
		res, err := tx.q.ExecContext(ctx, `UPDATE kms_keks SET wrapped = NULL WHERE tenant_id = ? AND wrapped IS NOT NULL`, tenant)
		if err != nil {
			return fmt.Errorf("store: shred: %w", err)
		}
		cut, _ := res.RowsAffected()
		out.KeyVersionsCut = int(cut)
		return nil
	})
	if err != nil {
		return ShredResult{}, err
	}
	return out, nil
}

// Compact rebuilds the database file (VACUUM) so no free page or freed
// cell fragment keeps older copies of rows — an update leaves the previous
// row image in free space — then checkpoints and truncates the write-ahead
// log. It rewrites the whole file and blocks writers meanwhile: it runs
// after a tenant shred, which is rare.
//
// On PostgreSQL it VACUUMs the tables a shred touches, so their dead row
// versions are marked reusable; the server's WAL, replicas and backups keep
// older images until they age out, which is why a shred destroys the keys
// first (the values are unreadable without them).
func (s *Store) Compact(ctx context.Context) error {
	if s.d == pstore.Postgres {
		if _, err := s.db.ExecContext(ctx, `VACUUM secrets, secret_versions, version_stages, secret_tags, tenant_deks, kms_keks`); err != nil {
			return fmt.Errorf("store: vacuum: %w", err)
		}
		return nil
	}
	if _, err := s.db.ExecContext(ctx, `VACUUM`); err != nil {
		return fmt.Errorf("store: vacuum: %w", err)
	}
	return s.Checkpoint(ctx)
}

// Checkpoint copies the write-ahead log into the database file and
// truncates it, so overwritten pages leave no older copy behind. Readers
// in flight can keep part of the log; a later checkpoint finishes it.
//
// PostgreSQL manages its own log (a CHECKPOINT needs superuser rights): a
// no-op there.
func (s *Store) Checkpoint(ctx context.Context) error {
	if s.d == pstore.Postgres {
		return nil
	}
	var busy, logFrames, done int
	if err := s.x().QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &done); err != nil {
		return fmt.Errorf("store: checkpoint: %w", err)
	}
	if busy != 0 {
		return errors.New("store: checkpoint: database busy; the log is truncated by a later checkpoint")
	}
	return nil
}

// TenantShredded reports whether the tenant was shredded.
func (s *Store) TenantShredded(ctx context.Context, tenant string) (bool, error) {
	var one int
	err := s.x().QueryRowContext(ctx, `SELECT 1 FROM shredded_tenants WHERE tenant_id = ?`, tenant).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: shredded: %w", err)
	}
	return true, nil
}

// Cursor returns the saved position of the named event stream (0 if none).
func (s *Store) Cursor(ctx context.Context, name string) (int64, error) {
	var c int64
	err := s.x().QueryRowContext(ctx, `SELECT cursor FROM stream_cursors WHERE name = ?`, name).Scan(&c)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: cursor: %w", err)
	}
	return c, nil
}

// SetCursor saves the position of the named event stream; it never moves
// a cursor backwards.
func (s *Store) SetCursor(ctx context.Context, name string, cursor int64) error {
	if _, err := s.x().ExecContext(ctx, `INSERT INTO stream_cursors (name, cursor) VALUES (?, ?)
 ON CONFLICT (name) DO UPDATE SET cursor = CASE WHEN stream_cursors.cursor > excluded.cursor
 THEN stream_cursors.cursor ELSE excluded.cursor END`, name, cursor); err != nil {
		return fmt.Errorf("store: cursor: %w", err)
	}
	return nil
}

// ShredEvent is one crypto-shred in the order they were made (WatchShreds).
type ShredEvent struct {
	Seq        int64
	Tenant     string
	ShreddedAt time.Time
}

// appendShredEvent records the tenant's first shred for WatchShreds. On
// PostgreSQL appends are serialised until commit (as auth's event log), so
// seqs become visible in order and a watcher that has seen seq n never
// misses a lower one committed later; SQLite's write lock does that there.
func (t *Tx) appendShredEvent(ctx context.Context, tenant string, now time.Time) error {
	if t.d == pstore.Postgres {
		if _, err := t.q.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('rampart-keyvault-shred-events'))`); err != nil {
			return fmt.Errorf("store: shred event: %w", err)
		}
	}
	if _, err := t.q.ExecContext(ctx, `INSERT INTO shred_events (tenant_id, shredded_at) VALUES (?, ?)`, tenant, nanos(now)); err != nil {
		return fmt.Errorf("store: shred event: %w", err)
	}
	return nil
}

// ShredsAfter returns up to limit shreds with a seq above after, in order.
func (s *Store) ShredsAfter(ctx context.Context, after int64, limit int) ([]ShredEvent, error) {
	rows, err := s.x().QueryContext(ctx, `SELECT seq, tenant_id, shredded_at FROM shred_events WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: shred events: %w", err)
	}
	defer rows.Close()
	var out []ShredEvent
	for rows.Next() {
		var e ShredEvent
		var at int64
		if err := rows.Scan(&e.Seq, &e.Tenant, &at); err != nil {
			return nil, fmt.Errorf("store: shred events: %w", err)
		}
		e.ShreddedAt = fromNanos(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: shred events: %w", err)
	}
	return out, nil
}

// ShredHead returns the highest shred seq (0 before the first shred).
func (s *Store) ShredHead(ctx context.Context) (int64, error) {
	var head int64
	if err := s.x().QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM shred_events`).Scan(&head); err != nil {
		return 0, fmt.Errorf("store: shred head: %w", err)
	}
	return head, nil
}

// ShredAt returns the shred numbered seq; ok is false when there is none
// (WatchShreds checks that a resuming client's cursor names the shred it
// saw, ADR 0095).
func (s *Store) ShredAt(ctx context.Context, seq int64) (ShredEvent, bool, error) {
	e := ShredEvent{Seq: seq}
	var at int64
	err := s.x().QueryRowContext(ctx, `SELECT tenant_id, shredded_at FROM shred_events WHERE seq = ?`, seq).Scan(&e.Tenant, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return ShredEvent{}, false, nil
	}
	if err != nil {
		return ShredEvent{}, false, fmt.Errorf("store: shred event: %w", err)
	}
	e.ShreddedAt = fromNanos(at)
	return e, true, nil
}
