package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	pstore "github.com/rampart-platform/rampart/pkg/store"
)

// ErrNotFound is returned for a prompt log that does not exist in the tenant.
var ErrNotFound = errors.New("not found")

// WrappedKey is a tenant's prompt-log data key as wrapped by the KMS.
type WrappedKey struct {
	Blob     []byte
	KMSKeyID string
}

// PromptLog is one sealed prompt log row.
type PromptLog struct {
	ID                                      int64
	Tenant, RequestID, Key, Model, Endpoint string
	Sealed                                  []byte
	At                                      time.Time
}

// TenantKey returns the tenant's wrapped prompt-log data key.
func (s *Store) TenantKey(ctx context.Context, tenant string) (WrappedKey, error) {
	var k WrappedKey
	err := s.db.QueryRowContext(ctx, s.d.Rebind(`SELECT wrapped_key, kms_key_id FROM prompt_log_keys WHERE tenant_id = ?`), tenant).Scan(&k.Blob, &k.KMSKeyID)
	if errors.Is(err, sql.ErrNoRows) {
		return k, ErrNotFound
	}
	if err != nil {
		return k, fmt.Errorf("prompt log keys: %w", err)
	}
	return k, nil
}

// PutTenantKey stores the tenant's wrapped key unless one exists already
// (another replica won the race), and returns the stored one.
func (s *Store) PutTenantKey(ctx context.Context, tenant string, k WrappedKey, at time.Time) (WrappedKey, error) {
	_, err := s.db.ExecContext(ctx, s.d.Rebind(`INSERT INTO prompt_log_keys (tenant_id, wrapped_key, kms_key_id, created_at_ms) VALUES (?, ?, ?, ?) ON CONFLICT (tenant_id) DO NOTHING`),
		tenant, k.Blob, k.KMSKeyID, at.UnixMilli())
	if err != nil {
		return WrappedKey{}, fmt.Errorf("prompt log keys: insert: %w", err)
	}
	return s.TenantKey(ctx, tenant)
}

// InsertPromptLog stores one sealed row (one statement: all or nothing).
func (s *Store) InsertPromptLog(ctx context.Context, l PromptLog) error {
	_, err := s.db.ExecContext(ctx, s.d.Rebind(`INSERT INTO prompt_logs (tenant_id, request_id, key_id, model, endpoint, sealed, created_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)`),
		l.Tenant, l.RequestID, l.Key, l.Model, l.Endpoint, l.Sealed, l.At.UnixMilli())
	if err != nil {
		return fmt.Errorf("prompt logs: insert: %w", err)
	}
	return nil
}

const promptLogCols = `id, tenant_id, request_id, key_id, model, endpoint, sealed, created_at_ms`

func scanPromptLog(sc pstore.Scanner) (PromptLog, error) {
	var l PromptLog
	var ms int64
	if err := sc.Scan(&l.ID, &l.Tenant, &l.RequestID, &l.Key, &l.Model, &l.Endpoint, &l.Sealed, &ms); err != nil {
		return l, err
	}
	l.At = time.UnixMilli(ms).UTC()
	return l, nil
}

// PromptLog returns the tenant's latest row for requestID; ErrNotFound
// otherwise (also when it belongs to another tenant).
func (s *Store) PromptLog(ctx context.Context, tenant, requestID string) (PromptLog, error) {
	row := s.db.QueryRowContext(ctx, s.d.Rebind(`SELECT `+promptLogCols+` FROM prompt_logs WHERE tenant_id = ? AND request_id = ? ORDER BY id DESC LIMIT 1`), tenant, requestID)
	l, err := scanPromptLog(row)
	if errors.Is(err, sql.ErrNoRows) {
		return l, ErrNotFound
	}
	if err != nil {
		return l, fmt.Errorf("prompt logs: get: %w", err)
	}
	return l, nil
}

// PromptLogs returns up to limit of the tenant's rows in [from, to), newest
// first, with id < beforeID when beforeID > 0 (paging).
func (s *Store) PromptLogs(ctx context.Context, tenant string, from, to time.Time, beforeID int64, limit int) ([]PromptLog, error) {
	q := `SELECT ` + promptLogCols + ` FROM prompt_logs WHERE tenant_id = ? AND created_at_ms >= ? AND created_at_ms < ?`
	args := []any{tenant, from.UnixMilli(), to.UnixMilli()}
	if beforeID > 0 {
		q += ` AND id < ?`
		args = append(args, beforeID)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, s.d.Rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("prompt logs: list: %w", err)
	}
	defer rows.Close()
	var out []PromptLog
	for rows.Next() {
		l, err := scanPromptLog(rows)
		if err != nil {
			return nil, fmt.Errorf("prompt logs: scan: %w", err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("prompt logs: rows: %w", err)
	}
	return out, nil
}

// CountPromptLogs counts the tenant's rows (tests and metrics).
func (s *Store) CountPromptLogs(ctx context.Context, tenant string) (int64, error) {
	var n int64
	if err := s.db.QueryRowContext(ctx, s.d.Rebind(`SELECT COUNT(*) FROM prompt_logs WHERE tenant_id = ?`), tenant).Scan(&n); err != nil {
		return 0, fmt.Errorf("prompt logs: count: %w", err)
	}
	return n, nil
}
