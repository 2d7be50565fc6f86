package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	pstore "github.com/rampart-platform/rampart/pkg/store"
)

// Queries runs statements on the database or inside a transaction.
type Queries struct {
	x    execer
	d    Dialect
	inTx bool
}

func (q *Queries) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := q.x.ExecContext(ctx, q.d.Rebind(query), args...)
	return res, mapErr(err)
}

func (q *Queries) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	rows, err := q.x.QueryContext(ctx, q.d.Rebind(query), args...)
	return rows, mapErr(err)
}

func (q *Queries) row(ctx context.Context, query string, args ...any) *sql.Row {
	return q.x.QueryRowContext(ctx, q.d.Rebind(query), args...)
}

func affected(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// ---- meta ----

// GetMeta returns a metadata value, or ErrNotFound.
func (q *Queries) GetMeta(ctx context.Context, k string) (string, error) {
	var v string
	err := q.row(ctx, `SELECT v FROM meta WHERE k = ?`, k).Scan(&v)
	return v, mapErr(err)
}

// SetMeta inserts a metadata value; ErrConflict if it exists.
func (q *Queries) SetMeta(ctx context.Context, k, v string) error {
	_, err := q.exec(ctx, `INSERT INTO meta (k, v) VALUES (?, ?)`, k, v)
	return err
}

// ---- tenants ----

const tenantCols = `tenant_id, name, state, created_at, updated_at, deleted_at, purge_at, purged, limits`

func scanTenant(sc scanner) (Tenant, error) {
	var t Tenant
	var created, updated, deleted, purge, purged int64
	var limits string
	if err := sc.Scan(&t.ID, &t.Name, &t.State, &created, &updated, &deleted, &purge, &purged, &limits); err != nil {
		return Tenant{}, mapErr(err)
	}
	if err := json.Unmarshal([]byte(limits), &t.Limits); err != nil {
		return Tenant{}, fmt.Errorf("decode limits of tenant %s: %w", t.ID, err)
	}
	t.CreatedAt, t.UpdatedAt, t.DeletedAt, t.PurgeAt = fromNanos(created), fromNanos(updated), fromNanos(deleted), fromNanos(purge)
	t.Purged = purged != 0
	return t, nil
}

// InsertTenant creates a tenant.
func (q *Queries) InsertTenant(ctx context.Context, t Tenant) error {
	_, err := q.exec(ctx, `INSERT INTO tenants (`+tenantCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.Name, t.State, nanos(t.CreatedAt), nanos(t.UpdatedAt), nanos(t.DeletedAt), nanos(t.PurgeAt), boolInt(t.Purged), jsonText(t.Limits))
	return err
}

// GetTenant returns a tenant that has not been purged.
func (q *Queries) GetTenant(ctx context.Context, id string) (Tenant, error) {
	return scanTenant(q.row(ctx, `SELECT `+tenantCols+` FROM tenants WHERE tenant_id = ? AND purged = 0`, id))
}

// CountTenants counts tenants ever created (purged ones included).
func (q *Queries) CountTenants(ctx context.Context) (int64, error) {
	var n int64
	err := q.row(ctx, `SELECT COUNT(*) FROM tenants`).Scan(&n)
	return n, mapErr(err)
}

// ListTenants lists unpurged tenants with id > after, by id.
func (q *Queries) ListTenants(ctx context.Context, after string, limit int) ([]Tenant, error) {
	rows, err := q.query(ctx, `SELECT `+tenantCols+` FROM tenants WHERE purged = 0 AND tenant_id > ? ORDER BY tenant_id LIMIT ?`, after, limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanTenant)
}

// UpdateTenant writes a tenant's state and lifecycle times.
func (q *Queries) UpdateTenant(ctx context.Context, t Tenant) error {
	res, err := q.exec(ctx, `UPDATE tenants SET state = ?, updated_at = ?, deleted_at = ?, purge_at = ? WHERE tenant_id = ? AND purged = 0`,
		t.State, nanos(t.UpdatedAt), nanos(t.DeletedAt), nanos(t.PurgeAt), t.ID)
	if err != nil {
		return err
	}
	return affected(res)
}

// SetTenantLimits replaces a tenant's limits.
func (q *Queries) SetTenantLimits(ctx context.Context, id string, l TenantLimits, now time.Time) error {
	res, err := q.exec(ctx, `UPDATE tenants SET limits = ?, updated_at = ? WHERE tenant_id = ? AND purged = 0`, jsonText(l), nanos(now), id)
	if err != nil {
		return err
	}
	return affected(res)
}

// TenantsToPurge returns deleted tenants whose grace period ended.
func (q *Queries) TenantsToPurge(ctx context.Context, now time.Time, limit int) ([]Tenant, error) {
	rows, err := q.query(ctx, `SELECT `+tenantCols+` FROM tenants WHERE state = ? AND purged = 0 AND purge_at <= ? ORDER BY purge_at LIMIT ?`,
		TenantDeleted, nanos(now), limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanTenant)
}

// PurgeTenant deletes a tenant's keys and members and marks it purged. The
// tenant row stays (id reuse is impossible) and so does its audit chain.
func (q *Queries) PurgeTenant(ctx context.Context, id string, now time.Time) error {
	if _, err := q.exec(ctx, `DELETE FROM api_keys WHERE tenant_id = ?`, id); err != nil {
		return err
	}
	if _, err := q.exec(ctx, `DELETE FROM members WHERE tenant_id = ?`, id); err != nil {
		return err
	}
	res, err := q.exec(ctx, `UPDATE tenants SET purged = 1, name = '', updated_at = ? WHERE tenant_id = ? AND purged = 0`, nanos(now), id)
	if err != nil {
		return err
	}
	return affected(res)
}

// ---- members ----

const memberCols = `member_id, tenant_id, subject, kind, role, created_at, updated_at`

func scanMember(sc scanner) (Member, error) {
	var m Member
	var created, updated int64
	if err := sc.Scan(&m.ID, &m.TenantID, &m.Subject, &m.Kind, &m.Role, &created, &updated); err != nil {
		return Member{}, mapErr(err)
	}
	m.CreatedAt, m.UpdatedAt = fromNanos(created), fromNanos(updated)
	return m, nil
}

// InsertMember adds a member; ErrConflict when the subject exists in the tenant.
func (q *Queries) InsertMember(ctx context.Context, m Member) error {
	_, err := q.exec(ctx, `INSERT INTO members (`+memberCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		m.ID, m.TenantID, m.Subject, m.Kind, m.Role, nanos(m.CreatedAt), nanos(m.UpdatedAt))
	return err
}

// GetMember returns a member of tenant by id.
func (q *Queries) GetMember(ctx context.Context, tenantID, id string) (Member, error) {
	return scanMember(q.row(ctx, `SELECT `+memberCols+` FROM members WHERE tenant_id = ? AND member_id = ?`, tenantID, id))
}

// GetMemberBySubject returns a member of tenant by subject.
func (q *Queries) GetMemberBySubject(ctx context.Context, tenantID, subject string) (Member, error) {
	return scanMember(q.row(ctx, `SELECT `+memberCols+` FROM members WHERE tenant_id = ? AND subject = ?`, tenantID, subject))
}

// ListMembers lists a tenant's members with id > after.
func (q *Queries) ListMembers(ctx context.Context, tenantID, after string, limit int) ([]Member, error) {
	rows, err := q.query(ctx, `SELECT `+memberCols+` FROM members WHERE tenant_id = ? AND member_id > ? ORDER BY member_id LIMIT ?`, tenantID, after, limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanMember)
}

// CountOwners counts a tenant's owners.
func (q *Queries) CountOwners(ctx context.Context, tenantID string) (int64, error) {
	var n int64
	err := q.row(ctx, `SELECT COUNT(*) FROM members WHERE tenant_id = ? AND role = ?`, tenantID, RoleOwner).Scan(&n)
	return n, mapErr(err)
}

// UpdateMemberRole changes a member's role.
func (q *Queries) UpdateMemberRole(ctx context.Context, tenantID, id string, role Role, now time.Time) error {
	res, err := q.exec(ctx, `UPDATE members SET role = ?, updated_at = ? WHERE tenant_id = ? AND member_id = ?`, role, nanos(now), tenantID, id)
	if err != nil {
		return err
	}
	return affected(res)
}

// DeleteMember removes a member.
func (q *Queries) DeleteMember(ctx context.Context, tenantID, id string) error {
	res, err := q.exec(ctx, `DELETE FROM members WHERE tenant_id = ? AND member_id = ?`, tenantID, id)
	if err != nil {
		return err
	}
	return affected(res)
}

// ---- keys ----

const keyCols = `key_id, tenant_id, salt, hash, name, subject, scopes, allowed_models, allowed_endpoints, limits, state, created_at, expires_at, last_used_at, replaced_by, revoked_at, created_by, budget_key`

// keyColsK is keyCols qualified with the alias k, for joins.
const keyColsK = `k.key_id, k.tenant_id, k.salt, k.hash, k.name, k.subject, k.scopes, k.allowed_models, k.allowed_endpoints, k.limits, k.state, k.created_at, k.expires_at, k.last_used_at, k.replaced_by, k.revoked_at, k.created_by, k.budget_key`

func scanKey(sc scanner, extra ...any) (Key, error) {
	var k Key
	var scopes, models, endpoints, limits string
	var created, expires, lastUsed, revoked int64
	dst := []any{&k.ID, &k.TenantID, &k.Salt, &k.Hash, &k.Name, &k.Subject, &scopes, &models, &endpoints, &limits,
		&k.State, &created, &expires, &lastUsed, &k.ReplacedBy, &revoked, &k.CreatedBy, &k.BudgetKey}
	if err := sc.Scan(append(dst, extra...)...); err != nil {
		return Key{}, mapErr(err)
	}
	k.CreatedAt, k.ExpiresAt, k.LastUsedAt, k.RevokedAt = fromNanos(created), fromNanos(expires), fromNanos(lastUsed), fromNanos(revoked)
	if err := unmarshalAll([]string{scopes, models, endpoints}, &k.Scopes, &k.AllowedModels, &k.AllowedEndpoints); err != nil {
		return Key{}, err
	}
	if err := json.Unmarshal([]byte(limits), &k.Limits); err != nil {
		return Key{}, fmt.Errorf("decode limits of key %s: %w", k.ID, err)
	}
	return k, nil
}

func unmarshalAll(src []string, dst ...*[]string) error {
	for i, s := range src {
		if err := json.Unmarshal([]byte(s), dst[i]); err != nil {
			return fmt.Errorf("decode list column: %w", err)
		}
	}
	return nil
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain slices and structs are passed
	}
	return string(b)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// InsertKey stores a key (salt and hash only).
func (q *Queries) InsertKey(ctx context.Context, k Key) error {
	_, err := q.exec(ctx, `INSERT INTO api_keys (`+keyCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.TenantID, k.Salt, k.Hash, k.Name, k.Subject, jsonText(nonNil(k.Scopes)), jsonText(nonNil(k.AllowedModels)),
		jsonText(nonNil(k.AllowedEndpoints)), jsonText(k.Limits), k.State, nanos(k.CreatedAt), nanos(k.ExpiresAt),
		nanos(k.LastUsedAt), k.ReplacedBy, nanos(k.RevokedAt), k.CreatedBy, k.BudgetKey)
	return err
}

// GetKey returns a key of tenant.
func (q *Queries) GetKey(ctx context.Context, tenantID, keyID string) (Key, error) {
	return scanKey(q.row(ctx, `SELECT `+keyCols+` FROM api_keys WHERE tenant_id = ? AND key_id = ?`, tenantID, keyID))
}

// KeyForVerify looks a key up by its globally unique id together with its
// tenant's state and its subject's role. It is the authentication lookup.
func (q *Queries) KeyForVerify(ctx context.Context, keyID string) (KeyAuth, error) {
	var ka KeyAuth
	var role sql.NullInt32
	var member sql.NullString
	var tlimits string
	const cols = keyColsK
	k, err := scanKey(q.row(ctx, `SELECT `+cols+`, t.state, t.limits, m.role, m.member_id FROM api_keys k
		JOIN tenants t ON t.tenant_id = k.tenant_id
		LEFT JOIN members m ON m.tenant_id = k.tenant_id AND m.subject = k.subject
		WHERE k.key_id = ?`, keyID), &ka.TenantState, &tlimits, &role, &member)
	if err != nil {
		return KeyAuth{}, err
	}
	if err := json.Unmarshal([]byte(tlimits), &ka.TenantLimits); err != nil {
		return KeyAuth{}, fmt.Errorf("decode limits of tenant %s: %w", k.TenantID, err)
	}
	ka.Key = k
	ka.Role = Role(role.Int32)
	ka.MemberID = member.String
	return ka, nil
}

// ListKeys lists a tenant's keys with id > after; subject filters when set.
func (q *Queries) ListKeys(ctx context.Context, tenantID, subject, after string, limit int) ([]Key, error) {
	rows, err := q.query(ctx, `SELECT `+keyCols+` FROM api_keys WHERE tenant_id = ? AND (? = '' OR subject = ?) AND key_id > ? ORDER BY key_id LIMIT ?`,
		tenantID, subject, subject, after, limit)
	if err != nil {
		return nil, err
	}
	return collectKeys(rows)
}

func collectKeys(rows *sql.Rows) ([]Key, error) {
	return collect(rows, func(sc scanner) (Key, error) { return scanKey(sc) })
}

// UpdateKeyState writes a key's lifecycle fields.
func (q *Queries) UpdateKeyState(ctx context.Context, k Key) error {
	res, err := q.exec(ctx, `UPDATE api_keys SET state = ?, expires_at = ?, replaced_by = ?, revoked_at = ? WHERE tenant_id = ? AND key_id = ?`,
		k.State, nanos(k.ExpiresAt), k.ReplacedBy, nanos(k.RevokedAt), k.TenantID, k.ID)
	if err != nil {
		return err
	}
	return affected(res)
}

// ExpireKey marks a live key whose expiry passed at now as expired. It
// reports false when the key was no longer live and due (another replica's
// sweep expired it first, or it was revoked or rotated meanwhile): the
// caller then emits no event and writes no audit record, so each key
// expires once across replicas.
func (q *Queries) ExpireKey(ctx context.Context, tenantID, keyID string, now time.Time) (bool, error) {
	res, err := q.exec(ctx, `UPDATE api_keys SET state = ? WHERE tenant_id = ? AND key_id = ? AND state IN (?, ?) AND expires_at <= ?`,
		KeyExpired, tenantID, keyID, KeyActive, KeyRotating, nanos(now))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// LiveKeysOfSubject returns a subject's active and rotating keys.
func (q *Queries) LiveKeysOfSubject(ctx context.Context, tenantID, subject string) ([]Key, error) {
	rows, err := q.query(ctx, `SELECT `+keyCols+` FROM api_keys WHERE tenant_id = ? AND subject = ? AND state IN (?, ?)`,
		tenantID, subject, KeyActive, KeyRotating)
	if err != nil {
		return nil, err
	}
	return collectKeys(rows)
}

// LiveKeysMintedByKeys returns a tenant's active and rotating keys that a
// key created or rotated (created_by "key:<id>/<subject>"), except those of
// subject: the candidates when subject's grant shrinks.
func (q *Queries) LiveKeysMintedByKeys(ctx context.Context, tenantID, subject string) ([]Key, error) {
	rows, err := q.query(ctx, `SELECT `+keyCols+` FROM api_keys WHERE tenant_id = ? AND subject <> ? AND state IN (?, ?) AND created_by LIKE 'key:%'`,
		tenantID, subject, KeyActive, KeyRotating)
	if err != nil {
		return nil, err
	}
	return collectKeys(rows)
}

// LiveKeysOfRole returns the active and rotating keys of a tenant whose
// subjects currently hold role.
func (q *Queries) LiveKeysOfRole(ctx context.Context, tenantID string, role Role) ([]Key, error) {
	const cols = keyColsK
	rows, err := q.query(ctx, `SELECT `+cols+` FROM api_keys k
		JOIN members m ON m.tenant_id = k.tenant_id AND m.subject = k.subject
		WHERE k.tenant_id = ? AND m.role = ? AND k.state IN (?, ?)`, tenantID, role, KeyActive, KeyRotating)
	if err != nil {
		return nil, err
	}
	return collectKeys(rows)
}

// DueForExpiry returns live keys whose expiry has passed.
func (q *Queries) DueForExpiry(ctx context.Context, now time.Time, limit int) ([]Key, error) {
	rows, err := q.query(ctx, `SELECT `+keyCols+` FROM api_keys WHERE state IN (?, ?) AND expires_at <= ? ORDER BY expires_at LIMIT ?`,
		KeyActive, KeyRotating, nanos(now), limit)
	if err != nil {
		return nil, err
	}
	return collectKeys(rows)
}

// SweepDue reports, in one query, whether any key is due for expiry and
// whether any deleted tenant is due for purge at now. An idle auth sweeps
// twice a second; one probe instead of the two listing queries halves what
// that costs, and the listings run only when something is due.
func (q *Queries) SweepDue(ctx context.Context, now time.Time) (keys, tenants bool, err error) {
	n := nanos(now)
	err = q.row(ctx, `SELECT EXISTS (SELECT 1 FROM api_keys WHERE state IN (?, ?) AND expires_at <= ?),
		EXISTS (SELECT 1 FROM tenants WHERE state = ? AND purged = 0 AND purge_at <= ?)`,
		KeyActive, KeyRotating, n, TenantDeleted, n).Scan(&keys, &tenants)
	return keys, tenants, mapErr(err)
}

// TouchKeys records last-use times (batched by the caller).
func (q *Queries) TouchKeys(ctx context.Context, used map[string]time.Time) error {
	for id, at := range used {
		if _, err := q.exec(ctx, `UPDATE api_keys SET last_used_at = ? WHERE key_id = ? AND last_used_at < ?`, nanos(at), id, nanos(at)); err != nil {
			return err
		}
	}
	return nil
}

// ---- events ----

// AppendEvent appends to the event log and returns the new cursor.
func (q *Queries) AppendEvent(ctx context.Context, e Event) (int64, error) {
	if q.d == Postgres {
		// Serialise appends until commit so cursors become visible in
		// order and a watcher never skips a late-committing lower cursor.
		if _, err := q.exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('rampart-events'))`); err != nil {
			return 0, err
		}
	}
	var cursor int64
	err := q.row(ctx, `INSERT INTO events (kind, tenant_id, key_id, at) VALUES (?, ?, ?, ?) RETURNING id`,
		e.Kind, e.TenantID, e.KeyID, nanos(e.At)).Scan(&cursor)
	return cursor, mapErr(err)
}

// EventsAfter returns up to limit events with cursor > after, ascending.
func (q *Queries) EventsAfter(ctx context.Context, after int64, limit int) ([]Event, error) {
	rows, err := q.query(ctx, `SELECT id, kind, tenant_id, key_id, at FROM events WHERE id > ? ORDER BY id LIMIT ?`, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var at int64
		if err := rows.Scan(&e.Cursor, &e.Kind, &e.TenantID, &e.KeyID, &at); err != nil {
			return nil, mapErr(err)
		}
		e.At = fromNanos(at)
		out = append(out, e)
	}
	return out, mapErr(rows.Err())
}

// EventBounds returns the smallest retained and the largest cursor (0, 0
// when the log is empty).
func (q *Queries) EventBounds(ctx context.Context) (lo, hi int64, err error) {
	var l, h sql.NullInt64
	err = q.row(ctx, `SELECT MIN(id), MAX(id) FROM events`).Scan(&l, &h)
	return l.Int64, h.Int64, mapErr(err)
}

// PruneEvents deletes events older than before but always keeps the newest
// one, so the cursor never goes backwards after a restart.
func (q *Queries) PruneEvents(ctx context.Context, before time.Time) (int64, error) {
	res, err := q.exec(ctx, `DELETE FROM events WHERE at < ? AND id < (SELECT MAX(id) FROM events)`, nanos(before))
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// ---- audit ----

// AppendAudit appends r to its tenant's chain: it assigns seq and
// prev_hash, computes the hash and inserts, serialised per chain. It must run
// inside [DB.Tx] so the record commits or rolls back with the change it
// describes.
func (q *Queries) AppendAudit(ctx context.Context, r AuditRecord) (AuditRecord, error) {
	if !q.inTx {
		return AuditRecord{}, fmt.Errorf("AppendAudit must run in a transaction")
	}
	if q.d == Postgres {
		if _, err := q.exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('rampart-audit:' || ?))`, r.TenantID); err != nil {
			return AuditRecord{}, err
		}
	}
	var seq int64
	var prev string
	err := q.row(ctx, `SELECT seq, hash FROM audit_log WHERE tenant_id = ? ORDER BY seq DESC LIMIT 1`, r.TenantID).Scan(&seq, &prev)
	switch err = mapErr(err); {
	case errors.Is(err, ErrNotFound):
		seq, prev = 0, GenesisHash
	case err != nil:
		return AuditRecord{}, err
	}
	r.Seq = seq + 1
	r.PrevHash = prev
	r.At = fromNanos(nanos(r.At))
	r.Hash = AuditHash(r)
	_, err = q.exec(ctx, `INSERT INTO audit_log (tenant_id, seq, at, actor, action, target, result, request_id, source_ip, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.TenantID, r.Seq, nanos(r.At), r.Actor, r.Action, r.Target, r.Result, r.RequestID, r.SourceIP, r.PrevHash, r.Hash)
	if err != nil {
		return AuditRecord{}, err
	}
	return r, nil
}

const auditCols = `tenant_id, seq, at, actor, action, target, result, request_id, source_ip, prev_hash, hash`

func scanAudit(sc scanner) (AuditRecord, error) {
	var r AuditRecord
	var at int64
	if err := sc.Scan(&r.TenantID, &r.Seq, &at, &r.Actor, &r.Action, &r.Target, &r.Result, &r.RequestID, &r.SourceIP, &r.PrevHash, &r.Hash); err != nil {
		return AuditRecord{}, mapErr(err)
	}
	r.At = fromNanos(at)
	return r, nil
}

// ListAudit returns a tenant's records with seq < beforeSeq (0: from the
// newest), newest first.
func (q *Queries) ListAudit(ctx context.Context, tenantID string, beforeSeq int64, limit int) ([]AuditRecord, error) {
	if beforeSeq <= 0 {
		beforeSeq = 1<<63 - 1
	}
	rows, err := q.query(ctx, `SELECT `+auditCols+` FROM audit_log WHERE tenant_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?`, tenantID, beforeSeq, limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanAudit)
}

// VerifyAuditChain streams a tenant's chain in seq order and checks it.
func (q *Queries) VerifyAuditChain(ctx context.Context, tenantID string) (ChainResult, error) {
	rows, err := q.query(ctx, `SELECT `+auditCols+` FROM audit_log WHERE tenant_id = ? ORDER BY seq`, tenantID)
	if err != nil {
		return ChainResult{}, err
	}
	defer rows.Close()
	prev := GenesisHash
	var want int64 = 1
	for rows.Next() {
		r, err := scanAudit(rows)
		if err != nil {
			return ChainResult{}, err
		}
		switch {
		case r.Seq != want:
			return ChainResult{Checked: want - 1, FirstBadSeq: want, Reason: "record missing or out of order"}, nil
		case r.PrevHash != prev:
			return ChainResult{Checked: want - 1, FirstBadSeq: r.Seq, Reason: "prev_hash does not match the previous record"}, nil
		case AuditHash(r) != r.Hash:
			return ChainResult{Checked: want - 1, FirstBadSeq: r.Seq, Reason: "content does not match its hash"}, nil
		}
		prev = r.Hash
		want++
	}
	if err := rows.Err(); err != nil {
		return ChainResult{}, mapErr(err)
	}
	return ChainResult{OK: true, Checked: want - 1}, nil
}

// ---- signing keys ----

// InsertSigningKey stores a signing key.
func (q *Queries) InsertSigningKey(ctx context.Context, k SigningKey) error {
	_, err := q.exec(ctx, `INSERT INTO signing_keys (kid, public_key, sealed_key, created_at, not_after) VALUES (?, ?, ?, ?, ?)`,
		k.KID, k.PublicKey, k.Sealed, nanos(k.CreatedAt), nanos(k.NotAfter))
	return err
}

// LockSigningKeys serialises signing-key rotations until the transaction
// ends, so a replica that finds the rotation due reads the keys after any
// other replica's rotation has committed and does not rotate a second time
// (ADR 0095). On PostgreSQL an advisory lock; SQLite's one writer and one
// process need none.
func (q *Queries) LockSigningKeys(ctx context.Context) error {
	if q.d != Postgres {
		return nil
	}
	_, err := q.exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('rampart-signing-keys'))`)
	return err
}

// SigningKeys returns the keys with not_after > now, newest first.
func (q *Queries) SigningKeys(ctx context.Context, now time.Time) ([]SigningKey, error) {
	rows, err := q.query(ctx, `SELECT kid, public_key, sealed_key, created_at, not_after FROM signing_keys WHERE not_after > ? ORDER BY created_at DESC`, nanos(now))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []SigningKey
	for rows.Next() {
		var k SigningKey
		var created, notAfter int64
		if err := rows.Scan(&k.KID, &k.PublicKey, &k.Sealed, &created, &notAfter); err != nil {
			return nil, mapErr(err)
		}
		k.CreatedAt, k.NotAfter = fromNanos(created), fromNanos(notAfter)
		out = append(out, k)
	}
	return out, mapErr(rows.Err())
}

// SetSigningKeyNotAfter shortens a retired key's lifetime.
func (q *Queries) SetSigningKeyNotAfter(ctx context.Context, kid string, notAfter time.Time) error {
	res, err := q.exec(ctx, `UPDATE signing_keys SET not_after = ? WHERE kid = ?`, nanos(notAfter), kid)
	if err != nil {
		return err
	}
	return affected(res)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// scanner is pkg/store's, so scan functions fit store.CollectRows.
type scanner = pstore.Scanner

// collect is store.CollectRows with auth's error mapping.
func collect[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	out, err := pstore.CollectRows(rows, scan)
	return out, mapErr(err)
}
