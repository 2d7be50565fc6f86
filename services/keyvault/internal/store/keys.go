package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	pstore "github.com/rampart-platform/rampart/pkg/store"
	"github.com/rampart-platform/rampart/services/keyvault/internal/kms"
)

// CurrentDEK implements kms.DEKStore.
func (s *Store) CurrentDEK(ctx context.Context, tenant string) (string, []byte, bool, error) {
	var id string
	var w []byte
	err := s.x().QueryRowContext(ctx, `SELECT dek_id, wrapped FROM tenant_deks WHERE tenant_id = ? ORDER BY seq DESC LIMIT 1`, tenant).Scan(&id, &w)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, false, nil
	}
	if err != nil {
		return "", nil, false, fmt.Errorf("store: dek: %w", err)
	}
	return id, w, true, nil
}

// DEK implements kms.DEKStore.
func (s *Store) DEK(ctx context.Context, tenant, id string) ([]byte, error) {
	var w []byte
	err := s.x().QueryRowContext(ctx, `SELECT wrapped FROM tenant_deks WHERE tenant_id = ? AND dek_id = ?`, tenant, id).Scan(&w)
	if errors.Is(err, sql.ErrNoRows) {
		// Data keys only disappear with a crypto-shred of the tenant.
		return nil, fmt.Errorf("%w: data key %s", kms.ErrShredded, id)
	}
	if err != nil {
		return nil, fmt.Errorf("store: dek: %w", err)
	}
	return w, nil
}

// InsertDEK implements kms.DEKStore. Only the first data key of a tenant is
// kept when two writers race: SQLite runs the insert alone; on PostgreSQL
// two replicas can both see no key, and the unique (tenant_id, seq) index
// lets only one of them in (the other does nothing, as on SQLite; the
// caller then reads the winner's key).
func (s *Store) InsertDEK(ctx context.Context, tenant, id string, wrapped []byte) error {
	q := `INSERT INTO tenant_deks (tenant_id, dek_id, seq, wrapped)
 SELECT ?, ?, COALESCE(MAX(seq), 0) + 1, ? FROM tenant_deks WHERE tenant_id = ?
 HAVING COALESCE(MAX(seq), 0) = 0`
	if s.d == pstore.Postgres {
		q = `INSERT INTO tenant_deks (tenant_id, dek_id, seq, wrapped)
 SELECT CAST(? AS TEXT), CAST(? AS TEXT), COALESCE(MAX(seq), 0) + 1, CAST(? AS BYTEA) FROM tenant_deks WHERE tenant_id = ?
 HAVING COALESCE(MAX(seq), 0) = 0 ON CONFLICT (tenant_id, seq) DO NOTHING`
	}
	_, err := s.x().ExecContext(ctx, q, tenant, id, wrapped, tenant)
	if err != nil {
		return fmt.Errorf("store: insert dek: %w", err)
	}
	return nil
}

// TenantKEKs implements kms.KEKStore.
func (s *Store) TenantKEKs(ctx context.Context, tenant string) ([]kms.StoredKEK, error) {
	return s.keks(ctx, `SELECT tenant_id, version, master_version, wrapped FROM kms_keks WHERE tenant_id = ? ORDER BY version`, tenant)
}

// AllKEKs implements kms.KEKStore.
func (s *Store) AllKEKs(ctx context.Context) ([]kms.StoredKEK, error) {
	return s.keks(ctx, `SELECT tenant_id, version, master_version, wrapped FROM kms_keks WHERE wrapped IS NOT NULL ORDER BY tenant_id, version`)
}

func (s *Store) keks(ctx context.Context, q string, args ...any) ([]kms.StoredKEK, error) {
	rows, err := s.x().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: keks: %w", err)
	}
	defer rows.Close()
	var out []kms.StoredKEK
	for rows.Next() {
		var k kms.StoredKEK
		if err := rows.Scan(&k.Tenant, &k.Version, &k.MasterVersion, &k.Wrapped); err != nil {
			return nil, fmt.Errorf("store: keks: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// InsertKEK implements kms.KEKStore.
func (s *Store) InsertKEK(ctx context.Context, k kms.StoredKEK) error {
	if _, err := s.x().ExecContext(ctx, `INSERT INTO kms_keks (tenant_id, version, master_version, wrapped) VALUES (?,?,?,?)`,
		k.Tenant, k.Version, k.MasterVersion, k.Wrapped); err != nil {
		return fmt.Errorf("store: insert kek: %w", err)
	}
	return nil
}

// DestroyTenantKEKs implements kms.KEKStore: the wrapped material is erased
// (tombstones keep version numbers from being reused) along with the
// tenant's data keys.
func (s *Store) DestroyTenantKEKs(ctx context.Context, tenant string) error {
	return s.InTx(ctx, func(tx *Tx) error {
		if err := tx.secureDelete(ctx); err != nil {
			return err
		}
		if _, err := tx.q.ExecContext(ctx, `UPDATE kms_keks SET wrapped = NULL WHERE tenant_id = ?`, tenant); err != nil {
			return fmt.Errorf("store: destroy kek: %w", err)
		}
		if _, err := tx.q.ExecContext(ctx, `DELETE FROM tenant_deks WHERE tenant_id = ?`, tenant); err != nil {
			return fmt.Errorf("store: destroy deks: %w", err)
		}
		return nil
	})
}

// ReplaceWrapped implements kms.KEKStore.
func (s *Store) ReplaceWrapped(ctx context.Context, ks []kms.StoredKEK) error {
	return s.InTx(ctx, func(tx *Tx) error {
		for _, k := range ks {
			if _, err := tx.q.ExecContext(ctx, `UPDATE kms_keks SET wrapped = ?, master_version = ? WHERE tenant_id = ? AND version = ? AND wrapped IS NOT NULL`,
				k.Wrapped, k.MasterVersion, k.Tenant, k.Version); err != nil {
				return fmt.Errorf("store: rewrap kek: %w", err)
			}
		}
		return nil
	})
}
