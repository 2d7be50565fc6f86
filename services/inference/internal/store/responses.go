package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	pstore "github.com/rampart-platform/rampart/pkg/store"
)

// StoredResponse is one sealed Responses API response (store: true).
type StoredResponse struct {
	Tenant, ID string
	Sealed     []byte
	At         time.Time
}

// InsertStoredResponse stores one sealed response. Response ids are random
// and unique per tenant; a duplicate is an error, never an overwrite.
func (s *Store) InsertStoredResponse(ctx context.Context, r StoredResponse) error {
	_, err := s.db.ExecContext(ctx, s.d.Rebind(`INSERT INTO stored_responses (tenant_id, response_id, sealed, created_at_ms) VALUES (?, ?, ?, ?)`),
		r.Tenant, r.ID, r.Sealed, r.At.UnixMilli())
	if err != nil {
		return fmt.Errorf("stored responses: insert: %w", err)
	}
	return nil
}

// StoredResponse returns the tenant's response id; ErrNotFound otherwise
// (also when the id belongs to another tenant).
func (s *Store) StoredResponse(ctx context.Context, tenant, id string) (StoredResponse, error) {
	r := StoredResponse{Tenant: tenant, ID: id}
	var ms int64
	err := s.db.QueryRowContext(ctx, s.d.Rebind(`SELECT sealed, created_at_ms FROM stored_responses WHERE tenant_id = ? AND response_id = ?`), tenant, id).Scan(&r.Sealed, &ms)
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("stored responses: get: %w", err)
	}
	r.At = time.UnixMilli(ms).UTC()
	return r, nil
}

// DeleteStoredResponse deletes the tenant's response id; ErrNotFound when
// the tenant has no such response.
func (s *Store) DeleteStoredResponse(ctx context.Context, tenant, id string) error {
	res, err := s.db.ExecContext(ctx, s.d.Rebind(`DELETE FROM stored_responses WHERE tenant_id = ? AND response_id = ?`), tenant, id)
	if err != nil {
		return fmt.Errorf("stored responses: delete: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("stored responses: delete: %w", err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// StoredResponseTenants lists the tenants that have stored responses (the
// retention sweeper purges each with its own retention).
func (s *Store) StoredResponseTenants(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT tenant_id FROM stored_responses ORDER BY tenant_id`)
	if err != nil {
		return nil, fmt.Errorf("stored responses: tenants: %w", err)
	}
	out, err := pstore.CollectRows(rows, pstore.ScanColumn[string])
	if err != nil {
		return nil, fmt.Errorf("stored responses: tenants: %w", err)
	}
	return out, nil
}

// PurgeStoredResponses deletes up to limit of the tenant's stored responses
// created before cutoff (oldest first) and returns how many it deleted;
// idempotent like PurgePromptLogs.
func (s *Store) PurgeStoredResponses(ctx context.Context, tenant string, cutoff time.Time, limit int) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.d.Rebind(`DELETE FROM stored_responses WHERE tenant_id = ? AND response_id IN
		(SELECT response_id FROM stored_responses WHERE tenant_id = ? AND created_at_ms < ? ORDER BY created_at_ms, response_id LIMIT ?)`),
		tenant, tenant, cutoff.UnixMilli(), limit)
	if err != nil {
		return 0, fmt.Errorf("stored responses: purge: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("stored responses: purge: %w", err)
	}
	return n, nil
}

// CountStoredResponses counts the tenant's stored responses (tests and
// metrics).
func (s *Store) CountStoredResponses(ctx context.Context, tenant string) (int64, error) {
	var n int64
	if err := s.db.QueryRowContext(ctx, s.d.Rebind(`SELECT COUNT(*) FROM stored_responses WHERE tenant_id = ?`), tenant).Scan(&n); err != nil {
		return 0, fmt.Errorf("stored responses: count: %w", err)
	}
	return n, nil
}
