package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/gofrs/flock"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	pstore "github.com/rampart-platform/rampart/pkg/store"
)

//go:embed migrations
var migrations embed.FS

// ErrNotFound means the row does not exist for this tenant.
var ErrNotFound = errors.New("store: not found")

// ErrConflict means a unique key already exists.
var ErrConflict = errors.New("store: already exists")

// DBFile is the SQLite file name inside the data dir.
const DBFile = "keyvault.db"

// Store is the keyvault database: an embedded SQLite file or PostgreSQL.
type Store struct {
	db *sql.DB
	// auditDB is a separate small pool for audit appends on PostgreSQL:
	// requests record audit entries while holding a connection of db in
	// their own transaction, so sharing one bounded pool could deadlock.
	// On SQLite it is db (the app keeps the audit file there).
	auditDB   *sql.DB
	d         pstore.Dialect
	readValue *sql.Stmt // the hot read path, prepared once
	// cache serves repeated reads of unchanged secrets on SQLite (nil on
	// PostgreSQL, where other replicas write too); see readCache.
	cache *readCache
	// stmts keeps transactions' statements prepared on SQLite (nil on
	// PostgreSQL); see stmtCache.
	stmts *stmtCache
	// owner is the data dir's lock taken by OpenOwned (nil otherwise),
	// released by Close.
	owner *flock.Flock
}

// Open opens (creating and migrating) the SQLite database in dataDir.
func Open(ctx context.Context, dataDir string) (*Store, error) {
	sub, err := pstore.MigrationsFor(migrations, pstore.SQLite)
	if err != nil {
		return nil, err
	}
	db, err := pstore.OpenSQLite(ctx, filepath.Join(dataDir, DBFile), sub)
	if err != nil {
		return nil, err
	}
	// One writer at a time is all SQLite allows; readers scale in WAL mode.
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	return finish(ctx, db, pstore.SQLite)
}

// OpenOwned is Open for the serving process: it first takes an exclusive
// lock on the data dir, so a second keyvault process on the same SQLite
// file is refused at start (ErrInUse) instead of serving secret versions
// its read cache no longer knows to be stale. The kernel drops the lock
// when the process dies, so a crash never leaves the data dir locked.
func OpenOwned(ctx context.Context, dataDir string) (*Store, error) {
	l := flock.New(filepath.Join(dataDir, DBFile+".lock"))
	ok, err := l.TryLock()
	if err != nil {
		return nil, fmt.Errorf("store: lock data dir: %w", err)
	}
	if !ok {
		return nil, ErrInUse
	}
	st, err := Open(ctx, dataDir)
	if err != nil {
		return nil, errors.Join(err, l.Unlock())
	}
	st.owner = l
	return st, nil
}

// ErrInUse means another keyvault process owns the data dir's SQLite file.
var ErrInUse = errors.New("store: the data dir's SQLite database is in use by another keyvault process; SQLite serves one replica (set DATABASE_URL to PostgreSQL for several)")

// OpenPostgres connects to the PostgreSQL database at url with a bounded
// pool and statement timeouts, and migrates it. Several replicas may share
// it: write transactions lock the secret row they change (see [Store.InTx]),
// leases and the audit chain are coordinated by the database. Errors never
// include the URL.
func OpenPostgres(ctx context.Context, url string, pool pstore.PoolOptions) (*Store, error) {
	sub, err := pstore.MigrationsFor(migrations, pstore.Postgres)
	if err != nil {
		return nil, err
	}
	db, err := pstore.OpenPostgresPool(ctx, url, sub, pool)
	if err != nil {
		return nil, err
	}
	auditPool := pool
	auditPool.MaxOpen, auditPool.MaxIdle = AuditPoolSize, AuditPoolSize
	auditDB, err := pstore.OpenPostgresPool(ctx, url, nil, auditPool)
	if err != nil {
		return nil, errors.Join(err, db.Close())
	}
	s, err := finish(ctx, db, pstore.Postgres)
	if err != nil {
		return nil, errors.Join(err, auditDB.Close())
	}
	s.auditDB = auditDB
	return s, nil
}

// AuditPoolSize is the number of connections of the audit pool
// (PostgreSQL): appends are serialised by the chain head lock anyway.
const AuditPoolSize = 4

func finish(ctx context.Context, db *sql.DB, d pstore.Dialect) (*Store, error) {
	q := readValueSQL
	if d == pstore.Postgres {
		q = readValueSQLPostgres
	}
	rv, err := db.PrepareContext(ctx, q)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: prepare: %w", err)
	}
	st := &Store{db: db, auditDB: db, d: d, readValue: rv}
	if d == pstore.SQLite {
		st.cache = newReadCache()
		st.stmts = newStmtCache(db)
	}
	return st, nil
}

// Close closes the database.
func (s *Store) Close() error {
	_ = s.readValue.Close()
	if s.stmts != nil {
		s.stmts.close()
	}
	if s.auditDB != s.db {
		_ = s.auditDB.Close()
	}
	err := s.db.Close()
	if s.owner != nil {
		err = errors.Join(err, s.owner.Unlock())
	}
	return err
}

// DB exposes the handle (tests).
func (s *Store) DB() *sql.DB { return s.db }

// Dialect reports which database the store runs on.
func (s *Store) Dialect() pstore.Dialect { return s.d }

// Ping checks the database connection (readiness).
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// querier is a pool or a transaction, with queries rebound for the dialect.
type querier = pstore.Querier

// x returns a querier over the pool (no transaction).
// With the read cache on, a statement run there retires the cache.
func (s *Store) x() querier {
	q := pstore.Rebound{Q: s.db, D: s.d}
	if s.cache == nil {
		return q
	}
	return bumpingQuerier{querier: q, c: s.cache}
}

// Tx is a transaction; all its methods are scoped by tenant.
type Tx struct {
	q querier
	d pstore.Dialect
	// forUpdate is set in PostgreSQL transactions: reading a secret locks
	// its row until commit, so two replicas changing the same secret
	// (version-stage moves, rotation steps, tag edits) run one after the
	// other, as SQLite's single writer makes them run anyway.
	forUpdate bool
}

// InTx runs fn in one transaction, committing if it returns nil. Every
// write transaction starts by reading the secret it changes; on PostgreSQL
// that read takes the row lock (SELECT ... FOR UPDATE), on SQLite the
// transaction holds the database's write lock from BEGIN (IMMEDIATE).
func (s *Store) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	// After the commit (or a failed one, whose outcome is unknown) the read
	// cache is retired; the caller is answered only after that.
	defer s.cache.bump()
	return s.inTx(ctx, s.db, fn)
}

func (s *Store) inTx(ctx context.Context, db *sql.DB, fn func(tx *Tx) error) error {
	sqlTx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	if s.stmts != nil {
		// After the transaction has given its connection back.
		defer s.stmts.prepareWanted(ctx)
	}
	if err := fn(&Tx{q: s.txQuerier(sqlTx, db), d: s.d, forUpdate: s.d == pstore.Postgres}); err != nil {
		return errors.Join(err, ignoreDone(sqlTx.Rollback()))
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

func ignoreDone(err error) error {
	if errors.Is(err, sql.ErrTxDone) {
		return nil
	}
	return err
}

// Read returns a Tx-like reader over the pool (no transaction), for reads.
func (s *Store) Read() *Tx { return &Tx{q: s.x(), d: s.d} }

// Secret is a secret's row.
type Secret struct {
	ID                string
	TenantID          string
	Name              string
	ARN               string
	Description       string
	KMSKeyID          string
	ContentType       int
	CreatedAt         time.Time
	LastChangedAt     time.Time
	LastAccessedAt    time.Time
	DeletedAt         time.Time
	RotationEnabled   bool
	RotationSchedule  string
	RotationFunction  string
	LastRotatedAt     time.Time
	NextRotationAt    time.Time
	RotationVersionID string
	RotationStep      keyvaultv1.RotationStep
	RotationError     string
	RotationFailures  int
	// Owner is the SPIFFE ID of the service that created the secret for
	// itself ("" for a user's secret); set at insert, never changed.
	Owner string
}

// Version is a secret version's row (Ciphertext empty in listings).
type Version struct {
	TenantID   string
	SecretID   string
	VersionID  string
	Seq        int64
	CreatedAt  time.Time
	Binary     bool
	DEKID      string
	Ciphertext []byte
}

// Tag is a key/value tag.
type Tag struct{ Key, Value string }

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

//nolint:gosec // G101: a column list, not a credential.
const secretCols = `id, tenant_id, name, arn, description, kms_key_id, content_type, created_at, last_changed_at,
 last_accessed_at, deleted_at, rotation_enabled, rotation_schedule, rotation_function, last_rotated_at,
 next_rotation_at, rotation_version_id, rotation_step, rotation_error, rotation_failures, owner`

// scanner is pkg/store's, so scan functions fit store.CollectRows.
type scanner = pstore.Scanner

func scanSecret(r scanner) (Secret, error) {
	var s Secret
	var created, changed, accessed, deleted, rotated, next int64
	var enabled int
	err := r.Scan(&s.ID, &s.TenantID, &s.Name, &s.ARN, &s.Description, &s.KMSKeyID, &s.ContentType, &created, &changed,
		&accessed, &deleted, &enabled, &s.RotationSchedule, &s.RotationFunction, &rotated,
		&next, &s.RotationVersionID, &s.RotationStep, &s.RotationError, &s.RotationFailures, &s.Owner)
	if errors.Is(err, sql.ErrNoRows) {
		return Secret{}, ErrNotFound
	}
	if err != nil {
		return Secret{}, fmt.Errorf("store: scan secret: %w", err)
	}
	s.CreatedAt, s.LastChangedAt, s.LastAccessedAt = fromNanos(created), fromNanos(changed), fromNanos(accessed)
	s.DeletedAt, s.LastRotatedAt, s.NextRotationAt = fromNanos(deleted), fromNanos(rotated), fromNanos(next)
	s.RotationEnabled = enabled != 0
	return s, nil
}

// SecretByName returns the tenant's secret called name (locked until the
// transaction ends, on PostgreSQL).
func (t *Tx) SecretByName(ctx context.Context, tenant, name string) (Secret, error) {
	return scanSecret(t.q.QueryRowContext(ctx, `SELECT `+secretCols+` FROM secrets WHERE tenant_id = ? AND name = ?`+t.lockRow(), tenant, name))
}

// SecretByID returns the tenant's secret with id (locked until the
// transaction ends, on PostgreSQL).
func (t *Tx) SecretByID(ctx context.Context, tenant, id string) (Secret, error) {
	return scanSecret(t.q.QueryRowContext(ctx, `SELECT `+secretCols+` FROM secrets WHERE tenant_id = ? AND id = ?`+t.lockRow(), tenant, id))
}

// lockRow is the row-lock clause of a read inside a PostgreSQL transaction.
func (t *Tx) lockRow() string {
	if t.forUpdate {
		return ` FOR UPDATE`
	}
	return ``
}

// InsertSecret inserts s; ErrConflict if the name is taken in the tenant.
func (t *Tx) InsertSecret(ctx context.Context, s Secret) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO secrets (`+secretCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		s.ID, s.TenantID, s.Name, s.ARN, s.Description, s.KMSKeyID, s.ContentType, nanos(s.CreatedAt), nanos(s.LastChangedAt),
		nanos(s.LastAccessedAt), nanos(s.DeletedAt), boolInt(s.RotationEnabled), s.RotationSchedule, s.RotationFunction, nanos(s.LastRotatedAt),
		nanos(s.NextRotationAt), s.RotationVersionID, s.RotationStep, s.RotationError, s.RotationFailures, s.Owner)
	if pstore.IsUniqueViolation(err) {
		return ErrConflict
	}
	if err != nil {
		return fmt.Errorf("store: insert secret: %w", err)
	}
	return nil
}

// UpdateSecret writes every mutable column of s.
func (t *Tx) UpdateSecret(ctx context.Context, s Secret) error {
	res, err := t.q.ExecContext(ctx, `UPDATE secrets SET description = ?, kms_key_id = ?, content_type = ?, last_changed_at = ?,
 deleted_at = ?, rotation_enabled = ?, rotation_schedule = ?, rotation_function = ?, last_rotated_at = ?, next_rotation_at = ?,
 rotation_version_id = ?, rotation_step = ?, rotation_error = ?, rotation_failures = ? WHERE tenant_id = ? AND id = ?`,
		s.Description, s.KMSKeyID, s.ContentType, nanos(s.LastChangedAt), nanos(s.DeletedAt), boolInt(s.RotationEnabled),
		s.RotationSchedule, s.RotationFunction, nanos(s.LastRotatedAt), nanos(s.NextRotationAt), s.RotationVersionID,
		s.RotationStep, s.RotationError, s.RotationFailures, s.TenantID, s.ID)
	if err != nil {
		return fmt.Errorf("store: update secret: %w", err)
	}
	return mustOne(res)
}

// DeleteSecret removes a secret with its versions, labels and tags.
func (t *Tx) DeleteSecret(ctx context.Context, tenant, id string) error {
	for _, q := range []string{
		`DELETE FROM version_stages WHERE tenant_id = ? AND secret_id = ?`,
		`DELETE FROM secret_versions WHERE tenant_id = ? AND secret_id = ?`,
		`DELETE FROM secret_tags WHERE tenant_id = ? AND secret_id = ?`,
	} {
		if _, err := t.q.ExecContext(ctx, q, tenant, id); err != nil {
			return fmt.Errorf("store: delete secret: %w", err)
		}
	}
	res, err := t.q.ExecContext(ctx, `DELETE FROM secrets WHERE tenant_id = ? AND id = ?`, tenant, id)
	if err != nil {
		return fmt.Errorf("store: delete secret: %w", err)
	}
	return mustOne(res)
}

func mustOne(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Tags returns the secret's tags ordered by key.
func (t *Tx) Tags(ctx context.Context, tenant, secretID string) ([]Tag, error) {
	rows, err := t.q.QueryContext(ctx, `SELECT key, value FROM secret_tags WHERE tenant_id = ? AND secret_id = ? ORDER BY key`, tenant, secretID)
	if err != nil {
		return nil, fmt.Errorf("store: tags: %w", err)
	}
	defer rows.Close()
	var out []Tag
	for rows.Next() {
		var tg Tag
		if err := rows.Scan(&tg.Key, &tg.Value); err != nil {
			return nil, fmt.Errorf("store: tags: %w", err)
		}
		out = append(out, tg)
	}
	return out, rows.Err()
}

// SetTag adds or replaces a tag.
func (t *Tx) SetTag(ctx context.Context, tenant, secretID string, tg Tag) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO secret_tags (tenant_id, secret_id, key, value) VALUES (?,?,?,?)
 ON CONFLICT (secret_id, key) DO UPDATE SET value = excluded.value`, tenant, secretID, tg.Key, tg.Value)
	if err != nil {
		return fmt.Errorf("store: set tag: %w", err)
	}
	return nil
}

// DeleteTag removes a tag (no error if absent).
func (t *Tx) DeleteTag(ctx context.Context, tenant, secretID, key string) error {
	if _, err := t.q.ExecContext(ctx, `DELETE FROM secret_tags WHERE tenant_id = ? AND secret_id = ? AND key = ?`, tenant, secretID, key); err != nil {
		return fmt.Errorf("store: delete tag: %w", err)
	}
	return nil
}

const versionCols = `tenant_id, secret_id, version_id, seq, created_at, is_binary, dek_id, ciphertext`

func scanVersion(r scanner) (Version, error) {
	var v Version
	var created int64
	var bin int
	err := r.Scan(&v.TenantID, &v.SecretID, &v.VersionID, &v.Seq, &created, &bin, &v.DEKID, &v.Ciphertext)
	if errors.Is(err, sql.ErrNoRows) {
		return Version{}, ErrNotFound
	}
	if err != nil {
		return Version{}, fmt.Errorf("store: scan version: %w", err)
	}
	v.CreatedAt = fromNanos(created)
	v.Binary = bin != 0
	return v, nil
}

// Version returns one version.
func (t *Tx) Version(ctx context.Context, tenant, secretID, versionID string) (Version, error) {
	return scanVersion(t.q.QueryRowContext(ctx, `SELECT `+versionCols+` FROM secret_versions WHERE tenant_id = ? AND secret_id = ? AND version_id = ?`,
		tenant, secretID, versionID))
}

// VersionByStage returns the version carrying stage.
func (t *Tx) VersionByStage(ctx context.Context, tenant, secretID, stage string) (Version, error) {
	return scanVersion(t.q.QueryRowContext(ctx, `SELECT v.tenant_id, v.secret_id, v.version_id, v.seq, v.created_at, v.is_binary, v.dek_id, v.ciphertext
 FROM version_stages s JOIN secret_versions v ON v.secret_id = s.secret_id AND v.version_id = s.version_id
 WHERE s.tenant_id = ? AND s.secret_id = ? AND s.stage = ?`, tenant, secretID, stage))
}

// InsertVersion stores a new version (seq is assigned).
func (t *Tx) InsertVersion(ctx context.Context, v Version) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO secret_versions (`+versionCols+`)
 VALUES (?, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM secret_versions WHERE secret_id = ?), ?, ?, ?, ?)`,
		v.TenantID, v.SecretID, v.VersionID, v.SecretID, nanos(v.CreatedAt), boolInt(v.Binary), v.DEKID, v.Ciphertext)
	if pstore.IsUniqueViolation(err) {
		return ErrConflict
	}
	if err != nil {
		return fmt.Errorf("store: insert version: %w", err)
	}
	return nil
}

// Stages returns stage → version id for the secret.
func (t *Tx) Stages(ctx context.Context, tenant, secretID string) (map[string]string, error) {
	rows, err := t.q.QueryContext(ctx, `SELECT stage, version_id FROM version_stages WHERE tenant_id = ? AND secret_id = ?`, tenant, secretID)
	if err != nil {
		return nil, fmt.Errorf("store: stages: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var s, v string
		if err := rows.Scan(&s, &v); err != nil {
			return nil, fmt.Errorf("store: stages: %w", err)
		}
		out[s] = v
	}
	return out, rows.Err()
}

// SetStage attaches stage to versionID (moving it if attached elsewhere).
func (t *Tx) SetStage(ctx context.Context, tenant, secretID, stage, versionID string) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO version_stages (tenant_id, secret_id, stage, version_id) VALUES (?,?,?,?)
 ON CONFLICT (secret_id, stage) DO UPDATE SET version_id = excluded.version_id`, tenant, secretID, stage, versionID)
	if err != nil {
		return fmt.Errorf("store: set stage: %w", err)
	}
	return nil
}

// RemoveStage detaches stage.
func (t *Tx) RemoveStage(ctx context.Context, tenant, secretID, stage string) error {
	if _, err := t.q.ExecContext(ctx, `DELETE FROM version_stages WHERE tenant_id = ? AND secret_id = ? AND stage = ?`, tenant, secretID, stage); err != nil {
		return fmt.Errorf("store: remove stage: %w", err)
	}
	return nil
}

// Versions lists the secret's versions, newest first, without ciphertext.
func (t *Tx) Versions(ctx context.Context, tenant, secretID string) ([]Version, error) {
	rows, err := t.q.QueryContext(ctx, `SELECT tenant_id, secret_id, version_id, seq, created_at, is_binary, dek_id, NULL
 FROM secret_versions WHERE tenant_id = ? AND secret_id = ? ORDER BY seq DESC`, tenant, secretID)
	if err != nil {
		return nil, fmt.Errorf("store: versions: %w", err)
	}
	return pstore.CollectRows(rows, scanVersion)
}

// PruneVersions deletes the oldest unlabelled versions so that at most keep
// versions remain. It returns how many it deleted.
func (t *Tx) PruneVersions(ctx context.Context, tenant, secretID string, keep int) (int64, error) {
	// Only the OFFSET clause differs: SQLite needs a LIMIT (-1: none) and
	// calls GREATEST MAX.
	offset := `LIMIT -1 OFFSET MAX(0, ? - (SELECT COUNT(*) FROM version_stages s WHERE s.secret_id = ?))`
	if t.d == pstore.Postgres {
		offset = `OFFSET GREATEST(0, CAST(? AS BIGINT) - (SELECT COUNT(*) FROM version_stages s WHERE s.secret_id = ?))`
	}
	res, err := t.q.ExecContext(ctx, `DELETE FROM secret_versions WHERE tenant_id = ? AND secret_id = ? AND version_id IN (
   SELECT v.version_id FROM secret_versions v
   WHERE v.tenant_id = ? AND v.secret_id = ?
     AND NOT EXISTS (SELECT 1 FROM version_stages s WHERE s.secret_id = v.secret_id AND s.version_id = v.version_id)
   ORDER BY v.seq DESC `+offset+`)`,
		tenant, secretID, tenant, secretID, keep, secretID)
	if err != nil {
		return 0, fmt.Errorf("store: prune versions: %w", err)
	}
	return res.RowsAffected()
}

// ListFilter selects secrets for ListSecrets.
type ListFilter struct {
	NamePrefix     string
	TagKey         string
	TagValue       string
	AfterName      string
	Limit          int
	IncludeDeleted bool
}

// ListSecrets returns the tenant's secrets ordered by name.
func (t *Tx) ListSecrets(ctx context.Context, tenant string, f ListFilter) ([]Secret, error) {
	q := `SELECT ` + secretCols + ` FROM secrets WHERE tenant_id = ? AND name > ?`
	args := []any{tenant, f.AfterName}
	if f.NamePrefix != "" {
		q += ` AND substr(name, 1, ?) = ?`
		args = append(args, len(f.NamePrefix), f.NamePrefix)
	}
	if !f.IncludeDeleted {
		q += ` AND deleted_at = 0`
	}
	if f.TagKey != "" {
		if f.TagValue != "" {
			q += ` AND EXISTS (SELECT 1 FROM secret_tags g WHERE g.secret_id = secrets.id AND g.key = ? AND g.value = ?)`
			args = append(args, f.TagKey, f.TagValue)
		} else {
			q += ` AND EXISTS (SELECT 1 FROM secret_tags g WHERE g.secret_id = secrets.id AND g.key = ?)`
			args = append(args, f.TagKey)
		}
	}
	q += ` ORDER BY name LIMIT ?`
	args = append(args, f.Limit)
	return t.querySecrets(ctx, q, args...)
}

func (t *Tx) querySecrets(ctx context.Context, q string, args ...any) ([]Secret, error) {
	rows, err := t.q.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list secrets: %w", err)
	}
	return pstore.CollectRows(rows, scanSecret)
}

// DueRotations returns secrets of any tenant whose scheduled rotation is
// due and not running (scheduler use only; the caller acts per tenant).
func (t *Tx) DueRotations(ctx context.Context, now time.Time, limit int) ([]Secret, error) {
	return t.querySecrets(ctx, `SELECT `+secretCols+` FROM secrets WHERE rotation_enabled = 1 AND next_rotation_at > 0
 AND next_rotation_at <= ? AND rotation_version_id = '' AND deleted_at = 0 ORDER BY next_rotation_at LIMIT ?`, nanos(now), limit)
}

// InProgressRotations returns secrets with a persisted, unfinished rotation.
func (t *Tx) InProgressRotations(ctx context.Context) ([]Secret, error) {
	return t.querySecrets(ctx, `SELECT `+secretCols+` FROM secrets WHERE rotation_version_id != '' ORDER BY name`)
}

// ExpiredDeletions returns secrets whose recovery window has passed.
func (t *Tx) ExpiredDeletions(ctx context.Context, now time.Time, limit int) ([]Secret, error) {
	return t.querySecrets(ctx, `SELECT `+secretCols+` FROM secrets WHERE deleted_at > 0 AND deleted_at <= ? ORDER BY deleted_at LIMIT ?`, nanos(now), limit)
}

// TouchAccessed records last-access times (tenant, secret id → time).
func (s *Store) TouchAccessed(ctx context.Context, tenant map[[2]string]time.Time) error {
	return s.InTx(ctx, func(tx *Tx) error {
		for k, at := range tenant {
			if _, err := tx.q.ExecContext(ctx, `UPDATE secrets SET last_accessed_at = CASE WHEN last_accessed_at > ? THEN last_accessed_at ELSE ? END
 WHERE tenant_id = ? AND id = ?`, nanos(at), nanos(at), k[0], k[1]); err != nil {
				return fmt.Errorf("store: touch: %w", err)
			}
		}
		return nil
	})
}

// ReleaseLease gives up the named lease if holder holds it (no error
// otherwise), so the next holder need not wait for it to expire.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	if _, err := s.x().ExecContext(ctx, `DELETE FROM leases WHERE name = ? AND holder = ?`, name, holder); err != nil {
		return fmt.Errorf("store: release lease: %w", err)
	}
	return nil
}

// TryLease acquires or renews the named lease for holder until expires; it
// reports whether holder now holds it.
func (s *Store) TryLease(ctx context.Context, name, holder string, now, expires time.Time) (bool, error) {
	var got bool
	err := s.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.q.ExecContext(ctx, `INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)
 ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
 WHERE leases.holder = excluded.holder OR leases.expires_at < ?`, name, holder, nanos(expires), nanos(now)); err != nil {
			return fmt.Errorf("store: lease: %w", err)
		}
		var h string
		if err := tx.q.QueryRowContext(ctx, `SELECT holder FROM leases WHERE name = ?`, name).Scan(&h); err != nil {
			return fmt.Errorf("store: lease: %w", err)
		}
		got = h == holder
		return nil
	})
	return got, err
}
