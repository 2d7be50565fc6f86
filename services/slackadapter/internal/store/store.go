package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-platform/rampart/pkg/store"
)

//go:embed migrations
var migrations embed.FS

// ErrNotFound means there is no such row.
var ErrNotFound = errors.New("store: not found")

// ErrTeamTaken means the workspace is installed for another tenant.
var ErrTeamTaken = errors.New("store: workspace installed for another tenant")

// Store is the adapter's database: an embedded SQLite file or PostgreSQL.
// Queries are written with "?" placeholders and rebound for the dialect.
// Every single-use guarantee (event dedupe, signed-request replay, OAuth
// state) is one statement decided by a primary key (INSERT ... ON CONFLICT,
// DELETE ... RETURNING), so replicas sharing the database agree.
type Store struct {
	raw *sql.DB
	db  store.Rebound
	d   store.Dialect
}

// Open opens (creating and migrating) the SQLite file at path.
func Open(ctx context.Context, path string) (*Store, error) {
	sub, err := store.MigrationsFor(migrations, store.SQLite)
	if err != nil {
		return nil, err
	}
	db, err := store.OpenSQLite(ctx, path, sub)
	if err != nil {
		return nil, fmt.Errorf("slackadapter store: %w", err)
	}
	return newStore(db, store.SQLite), nil
}

// OpenPostgres connects to the PostgreSQL database at url with a bounded
// pool and statement timeouts, and migrates it (under goose's advisory
// lock, so replicas starting together do not race). Errors never include
// the URL.
func OpenPostgres(ctx context.Context, url string, pool store.PoolOptions) (*Store, error) {
	sub, err := store.MigrationsFor(migrations, store.Postgres)
	if err != nil {
		return nil, err
	}
	db, err := store.OpenPostgresPool(ctx, url, sub, pool)
	if err != nil {
		return nil, fmt.Errorf("slackadapter store: %w", err)
	}
	return newStore(db, store.Postgres), nil
}

func newStore(db *sql.DB, d store.Dialect) *Store {
	return &Store{raw: db, db: store.Rebound{Q: db, D: d}, d: d}
}

// Close closes the database.
func (s *Store) Close() error { return s.raw.Close() }

// Dialect reports which database the store runs on.
func (s *Store) Dialect() store.Dialect { return s.d }

// Ping checks the database connection (readiness).
func (s *Store) Ping(ctx context.Context) error { return s.raw.PingContext(ctx) }

// beginTx starts a transaction whose queries are rebound too.
func (s *Store) beginTx(ctx context.Context) (*sql.Tx, store.Rebound, error) {
	tx, err := s.raw.BeginTx(ctx, nil)
	if err != nil {
		return nil, store.Rebound{}, err
	}
	return tx, store.Rebound{Q: tx, D: s.d}, nil
}

// MarkSeen records (team, event id) until now+ttl and reports whether it is
// new. An expired record counts as new and is renewed.
func (s *Store) MarkSeen(ctx context.Context, team, eventID string, now time.Time, ttl time.Duration) (bool, error) {
	res, err := s.db.ExecContext(ctx, `INSERT INTO seen_events (team_id, event_id, expires_at_ms) VALUES (?, ?, ?)
		ON CONFLICT (team_id, event_id) DO UPDATE SET expires_at_ms = excluded.expires_at_ms
		WHERE seen_events.expires_at_ms <= ?`, team, eventID, now.Add(ttl).UnixMilli(), now.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("mark event seen: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	return n == 1, nil
}

// ForgetSeen removes a seen mark (the event could not be queued, so Slack's
// retry must be processed).
func (s *Store) ForgetSeen(ctx context.Context, team, eventID string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM seen_events WHERE team_id = ? AND event_id = ?`, team, eventID)
	return err
}

// MarkBotThread records that the bot answered, as tenant, in the channel
// thread rooted at threadTS of team, until until (ADR 0128). Marking it
// again renews it; a mark of another tenant (the workspace changed
// hands) is taken over.
func (s *Store) MarkBotThread(ctx context.Context, tenant, team, channel, threadTS string, until time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO bot_threads (team_id, channel_id, thread_ts, tenant_id, expires_at_ms)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (team_id, channel_id, thread_ts)
		DO UPDATE SET tenant_id = excluded.tenant_id, expires_at_ms = excluded.expires_at_ms`,
		team, channel, threadTS, tenant, until.UnixMilli())
	if err != nil {
		return fmt.Errorf("mark bot thread: %w", err)
	}
	return nil
}

// InBotThread reports whether the bot answered, as tenant, in the channel
// thread rooted at threadTS of team, with the mark unexpired at now.
func (s *Store) InBotThread(ctx context.Context, tenant, team, channel, threadTS string, now time.Time) (bool, error) {
	var one int
	err := s.db.QueryRowContext(ctx, `SELECT 1 FROM bot_threads WHERE team_id = ? AND channel_id = ? AND thread_ts = ?
		AND tenant_id = ? AND expires_at_ms > ?`, team, channel, threadTS, tenant, now.UnixMilli()).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("bot thread: %w", err)
	}
	return true, nil
}

// MarkSignature records a signed request (its timestamp and signature)
// until exp and reports whether it is new. The primary key decides, so two
// replicas sharing the database cannot both accept the same request.
func (s *Store) MarkSignature(ctx context.Context, key string, exp time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, `INSERT INTO seen_signatures (signature, expires_at_ms) VALUES (?, ?)
		ON CONFLICT (signature) DO NOTHING`, key, exp.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("mark signature seen: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	return n == 1, nil
}

// PurgeExpired deletes expired seen events and signatures and OAuth states.
func (s *Store) PurgeExpired(ctx context.Context, now time.Time) error {
	for _, q := range []string{
		`DELETE FROM seen_events WHERE expires_at_ms <= ?`,
		`DELETE FROM seen_signatures WHERE expires_at_ms <= ?`,
		`DELETE FROM oauth_states WHERE expires_at_ms <= ?`,
		`DELETE FROM bot_threads WHERE expires_at_ms <= ?`,
	} {
		if _, err := s.db.ExecContext(ctx, q, now.UnixMilli()); err != nil {
			return err
		}
	}
	return nil
}

// Installation is one installed workspace.
type Installation struct {
	TeamID, EnterpriseID, TenantID, TeamName, BotUserID, SecretName string
	TokenExpiresAt, InstalledAt                                     time.Time
	// DisabledAt is set when Slack reported the app uninstalled or its
	// tokens revoked; zero while the installation is live.
	DisabledAt time.Time
}

// Disabled reports whether the installation was uninstalled or revoked.
func (in Installation) Disabled() bool { return !in.DisabledAt.IsZero() }

const instCols = `team_id, enterprise_id, tenant_id, team_name, bot_user_id, secret_name, token_expires_at, installed_at, disabled_at`

func scanInst(sc store.Scanner) (Installation, error) {
	var in Installation
	var exp, at, dis int64
	if err := sc.Scan(&in.TeamID, &in.EnterpriseID, &in.TenantID, &in.TeamName, &in.BotUserID, &in.SecretName, &exp, &at, &dis); err != nil {
		return Installation{}, err
	}
	if exp > 0 {
		in.TokenExpiresAt = time.Unix(exp, 0)
	}
	if dis > 0 {
		in.DisabledAt = time.Unix(dis, 0)
	}
	in.InstalledAt = time.Unix(at, 0)
	return in, nil
}

// SaveInstallation inserts or updates in and (re-)enables it. A workspace
// live for another tenant is refused (ErrTeamTaken): re-installing cannot
// move it. A workspace that uninstalled the app may be installed by another
// tenant; the previous tenant's channel bindings go with the old record.
func (s *Store) SaveInstallation(ctx context.Context, in Installation) error {
	rtx, tx, err := s.beginTx(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = rtx.Rollback() }()
	var owner string
	err = tx.QueryRowContext(ctx, `SELECT tenant_id FROM installations WHERE team_id = ?`, in.TeamID).Scan(&owner)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return err
	case owner != in.TenantID:
		var dis int64
		if err := tx.QueryRowContext(ctx, `SELECT disabled_at FROM installations WHERE team_id = ?`, in.TeamID).Scan(&dis); err != nil {
			return err
		}
		if dis == 0 {
			return ErrTeamTaken
		}
		for _, q := range []string{`DELETE FROM installations WHERE team_id = ?`, `DELETE FROM bindings WHERE team_id = ?`,
			`DELETE FROM installation_policies WHERE team_id = ?`, `DELETE FROM notice_tokens WHERE team_id = ?`} {
			if _, err := tx.ExecContext(ctx, q, in.TeamID); err != nil {
				return err
			}
		}
	}
	var exp int64
	if !in.TokenExpiresAt.IsZero() {
		exp = in.TokenExpiresAt.Unix()
	}
	// The update applies only to the same tenant's row: a concurrent
	// install by another tenant (on another replica, between our SELECT
	// and this statement) must not overwrite its record.
	res, err := tx.ExecContext(ctx, `INSERT INTO installations (`+instCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (team_id) DO UPDATE SET enterprise_id = excluded.enterprise_id, team_name = excluded.team_name,
		bot_user_id = excluded.bot_user_id, secret_name = excluded.secret_name, token_expires_at = excluded.token_expires_at,
		installed_at = excluded.installed_at, disabled_at = 0
		WHERE installations.tenant_id = excluded.tenant_id`,
		in.TeamID, in.EnterpriseID, in.TenantID, in.TeamName, in.BotUserID, in.SecretName, exp, in.InstalledAt.Unix(), 0)
	if err != nil {
		return fmt.Errorf("save installation: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return ErrTeamTaken
	}
	// The secret now holds the new install's token: a deletion pending
	// from an earlier uninstall must not remove it.
	if _, err := tx.ExecContext(ctx, `DELETE FROM token_deletions WHERE team_id = ? AND tenant_id = ?`, in.TeamID, in.TenantID); err != nil {
		return err
	}
	return rtx.Commit()
}

// SetTokenExpiry records a refreshed token's expiry for the tenant's team.
func (s *Store) SetTokenExpiry(ctx context.Context, tenant, team string, exp time.Time) error {
	var v int64
	if !exp.IsZero() {
		v = exp.Unix()
	}
	res, err := s.db.ExecContext(ctx, `UPDATE installations SET token_expires_at = ? WHERE tenant_id = ? AND team_id = ?`, v, tenant, team)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// DisableInstallation marks the tenant's installation of team disabled at
// now and stops its token refresh. Disabling twice keeps the first time.
// Its notice token (ADR 0137) is deleted in the same transaction.
func (s *Store) DisableInstallation(ctx context.Context, tenant, team string, now time.Time) error {
	rtx, tx, err := s.beginTx(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = rtx.Rollback() }()
	res, err := tx.ExecContext(ctx, `UPDATE installations SET disabled_at = CASE WHEN disabled_at = 0 THEN ? ELSE disabled_at END,
		token_expires_at = 0 WHERE tenant_id = ? AND team_id = ?`, now.Unix(), tenant, team)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM notice_tokens WHERE tenant_id = ? AND team_id = ?`, tenant, team); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO token_deletions (team_id, tenant_id, secret_name, since)
		SELECT team_id, tenant_id, secret_name, CAST(? AS BIGINT) FROM installations WHERE tenant_id = ? AND team_id = ?
		ON CONFLICT (team_id, tenant_id) DO UPDATE SET secret_name = excluded.secret_name`, now.Unix(), tenant, team); err != nil {
		return err
	}
	return rtx.Commit()
}

// TokenDeletion is a revoked bot token still to be deleted from its
// tenant's keyvault (ADR 0137).
type TokenDeletion struct {
	TeamID, TenantID, SecretName string
	Since                        time.Time
}

// TokenDeletions lists the pending deletions, oldest first.
func (s *Store) TokenDeletions(ctx context.Context) ([]TokenDeletion, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT team_id, tenant_id, secret_name, since FROM token_deletions ORDER BY since, team_id`)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []TokenDeletion
	for rows.Next() {
		var d TokenDeletion
		var since int64
		if err := rows.Scan(&d.TeamID, &d.TenantID, &d.SecretName, &since); err != nil {
			return nil, err
		}
		d.Since = time.Unix(since, 0)
		out = append(out, d)
	}
	return out, rows.Err()
}

// TokenDeleted records that tenant's token of team is no longer in
// keyvault (or is not to be deleted: the workspace was installed again).
func (s *Store) TokenDeleted(ctx context.Context, tenant, team string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM token_deletions WHERE tenant_id = ? AND team_id = ?`, tenant, team)
	return err
}

// NoticeToken is an installation's sealed notice token (ADR 0137): what
// is left of its bot token while the tenant's keyvault cannot be read.
type NoticeToken struct {
	TeamID, TenantID string
	Sealed           []byte
	// ExpiresAt is the access token's expiry; zero: it does not expire.
	ExpiresAt time.Time
}

// PutNoticeToken stores (replacing) t, only while its installation is
// live for its tenant: a job that read the token just before an uninstall
// cannot bring it back.
func (s *Store) PutNoticeToken(ctx context.Context, t NoticeToken) error {
	var exp int64
	if !t.ExpiresAt.IsZero() {
		exp = t.ExpiresAt.Unix()
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO notice_tokens (team_id, tenant_id, sealed, expires_at)
		SELECT ?, ?, ?, CAST(? AS BIGINT) WHERE EXISTS (SELECT 1 FROM installations WHERE team_id = ? AND tenant_id = ? AND disabled_at = 0)
		ON CONFLICT (team_id) DO UPDATE SET tenant_id = excluded.tenant_id, sealed = excluded.sealed, expires_at = excluded.expires_at`,
		t.TeamID, t.TenantID, t.Sealed, exp, t.TeamID, t.TenantID)
	if err != nil {
		return fmt.Errorf("notice token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// NoticeTokenFor returns tenant's notice token of team.
func (s *Store) NoticeTokenFor(ctx context.Context, tenant, team string) (NoticeToken, error) {
	t := NoticeToken{TeamID: team, TenantID: tenant}
	var exp int64
	err := s.db.QueryRowContext(ctx, `SELECT sealed, expires_at FROM notice_tokens WHERE team_id = ? AND tenant_id = ?`, team, tenant).Scan(&t.Sealed, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return NoticeToken{}, ErrNotFound
	}
	if err != nil {
		return NoticeToken{}, err
	}
	if exp > 0 {
		t.ExpiresAt = time.Unix(exp, 0)
	}
	return t, nil
}

// TryLease takes (or, for the same holder, renews) the named lease until
// now+ttl and reports whether holder has it. One statement decided by the
// primary key: of replicas racing for a free or expired lease exactly one
// wins.
func (s *Store) TryLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	res, err := s.db.ExecContext(ctx, `INSERT INTO leases (name, holder, expires_at_ms) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at_ms = excluded.expires_at_ms
		WHERE leases.holder = excluded.holder OR leases.expires_at_ms <= ?`, name, holder, now.Add(ttl).UnixMilli(), now.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("lease %s: %w", name, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ReleaseLease gives up the named lease if holder holds it.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM leases WHERE name = ? AND holder = ?`, name, holder)
	return err
}

// InstallationByTeam finds the installation of a Slack team, falling back
// to an org-wide (Enterprise Grid) installation of enterpriseID.
func (s *Store) InstallationByTeam(ctx context.Context, teamID, enterpriseID string) (Installation, error) {
	in, err := scanInst(s.db.QueryRowContext(ctx, `SELECT `+instCols+` FROM installations WHERE team_id = ?`, teamID))
	if errors.Is(err, sql.ErrNoRows) && enterpriseID != "" {
		in, err = scanInst(s.db.QueryRowContext(ctx, `SELECT `+instCols+` FROM installations WHERE team_id = ?`, enterpriseID))
	}
	if errors.Is(err, sql.ErrNoRows) {
		return Installation{}, ErrNotFound
	}
	return in, err
}

// ListInstallations lists the tenant's installations by team id.
func (s *Store) ListInstallations(ctx context.Context, tenant string) ([]Installation, error) {
	return s.queryInst(ctx, `SELECT `+instCols+` FROM installations WHERE tenant_id = ? ORDER BY team_id`, tenant)
}

// ExpiringInstallations lists installations whose rotating token expires
// before t (every tenant: the refresher acts per row with that row's tenant).
func (s *Store) ExpiringInstallations(ctx context.Context, before time.Time) ([]Installation, error) {
	return s.queryInst(ctx, `SELECT `+instCols+` FROM installations WHERE disabled_at = 0 AND token_expires_at > 0 AND token_expires_at <= ? ORDER BY token_expires_at`, before.Unix())
}

func (s *Store) queryInst(ctx context.Context, q string, args ...any) ([]Installation, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return store.CollectRows(rows, scanInst)
}

// TenantKey is a tenant's sealed Rampart API key.
type TenantKey struct {
	TenantID, KeyID string
	Sealed          []byte
}

// PutTenantKey stores (replacing) the tenant's sealed key.
func (s *Store) PutTenantKey(ctx context.Context, k TenantKey, now time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO tenant_keys (tenant_id, key_id, sealed, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (tenant_id) DO UPDATE SET key_id = excluded.key_id, sealed = excluded.sealed, created_at = excluded.created_at`,
		k.TenantID, k.KeyID, k.Sealed, now.Unix())
	return err
}

// TenantKey returns the tenant's sealed key.
func (s *Store) TenantKey(ctx context.Context, tenant string) (TenantKey, error) {
	k := TenantKey{TenantID: tenant}
	err := s.db.QueryRowContext(ctx, `SELECT key_id, sealed FROM tenant_keys WHERE tenant_id = ?`, tenant).Scan(&k.KeyID, &k.Sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return TenantKey{}, ErrNotFound
	}
	return k, err
}

// App is the Slack app: its public client id and its credentials sealed
// by the caller (the adapter's keyring).
type App struct {
	ClientID  string
	Sealed    []byte
	UpdatedAt time.Time
}

// PutApp records (replacing) the app.
func (s *Store) PutApp(ctx context.Context, a App) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO slack_app (id, client_id, sealed, updated_at) VALUES (1, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET client_id = excluded.client_id, sealed = excluded.sealed, updated_at = excluded.updated_at`,
		a.ClientID, a.Sealed, a.UpdatedAt.Unix())
	return err
}

// App returns the app, or ErrNotFound before the operator set it.
func (s *Store) App(ctx context.Context) (App, error) {
	var a App
	var at int64
	err := s.db.QueryRowContext(ctx, `SELECT client_id, sealed, updated_at FROM slack_app WHERE id = 1`).Scan(&a.ClientID, &a.Sealed, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return App{}, ErrNotFound
	}
	a.UpdatedAt = time.Unix(at, 0)
	return a, err
}

// PutState records an outstanding OAuth state nonce for tenant, asked for
// with the key keyID.
func (s *Store) PutState(ctx context.Context, nonce, tenant, keyID string, exp time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO oauth_states (nonce, tenant_id, expires_at_ms, key_id) VALUES (?, ?, ?, ?)`, nonce, tenant, exp.UnixMilli(), keyID)
	return err
}

// DropStatesOfKey deletes the outstanding states asked for with keyID (its
// install links stop working); it returns how many.
func (s *Store) DropStatesOfKey(ctx context.Context, keyID string) (int64, error) {
	if keyID == "" {
		return 0, nil
	}
	res, err := s.db.ExecContext(ctx, `DELETE FROM oauth_states WHERE key_id = ?`, keyID)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// PeekState returns the tenant recorded for an unexpired nonce.
func (s *Store) PeekState(ctx context.Context, nonce string, now time.Time) (string, error) {
	var tenant string
	err := s.db.QueryRowContext(ctx, `SELECT tenant_id FROM oauth_states WHERE nonce = ? AND expires_at_ms > ?`, nonce, now.UnixMilli()).Scan(&tenant)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	return tenant, err
}

// TakeState consumes the state nonce: it returns its tenant once, if not
// expired; a second call returns ErrNotFound.
func (s *Store) TakeState(ctx context.Context, nonce string, now time.Time) (string, error) {
	var tenant string
	err := s.db.QueryRowContext(ctx, `DELETE FROM oauth_states WHERE nonce = ? AND expires_at_ms > ? RETURNING tenant_id`, nonce, now.UnixMilli()).Scan(&tenant)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	return tenant, err
}

// Binding says what a workspace (ChannelID "") or one channel answers
// from: a tenant assistant, or collections.
type Binding struct {
	TeamID, ChannelID, TenantID string
	Assistant                   string
	Collections                 []string
	UpdatedBy                   string
	UpdatedAt                   time.Time
}

const bindCols = `team_id, channel_id, tenant_id, assistant, collections, updated_by, updated_at`

func scanBinding(sc store.Scanner) (Binding, error) {
	var b Binding
	var cols string
	var at int64
	if err := sc.Scan(&b.TeamID, &b.ChannelID, &b.TenantID, &b.Assistant, &cols, &b.UpdatedBy, &at); err != nil {
		return Binding{}, err
	}
	if err := json.Unmarshal([]byte(cols), &b.Collections); err != nil {
		return Binding{}, fmt.Errorf("binding %s/%s: collections: %w", b.TeamID, b.ChannelID, err)
	}
	b.UpdatedAt = time.Unix(at, 0)
	return b, nil
}

// PutBinding records b (replacing the binding of the same team and
// channel) if b's team is a live installation of b's tenant; otherwise
// ErrNotFound.
func (s *Store) PutBinding(ctx context.Context, b Binding) error {
	cols, err := json.Marshal(append([]string{}, b.Collections...))
	if err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO bindings (`+bindCols+`)
		SELECT ?, ?, ?, ?, ?, ?, CAST(? AS BIGINT) WHERE EXISTS (SELECT 1 FROM installations WHERE team_id = ? AND tenant_id = ? AND disabled_at = 0)
		ON CONFLICT (team_id, channel_id) DO UPDATE SET tenant_id = excluded.tenant_id, assistant = excluded.assistant,
		collections = excluded.collections, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
		b.TeamID, b.ChannelID, b.TenantID, b.Assistant, string(cols), b.UpdatedBy, b.UpdatedAt.Unix(), b.TeamID, b.TenantID)
	if err != nil {
		return fmt.Errorf("put binding: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// DeleteBinding removes the tenant's binding of team and channel.
func (s *Store) DeleteBinding(ctx context.Context, tenant, team, channel string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM bindings WHERE tenant_id = ? AND team_id = ? AND channel_id = ?`, tenant, team, channel)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// ListBindings lists the tenant's bindings, of one team when team is set.
func (s *Store) ListBindings(ctx context.Context, tenant, team string) ([]Binding, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+bindCols+` FROM bindings WHERE tenant_id = ? AND (? = '' OR team_id = ?)
		ORDER BY team_id, channel_id`, tenant, team, team)
	if err != nil {
		return nil, err
	}
	return store.CollectRows(rows, scanBinding)
}

// BindingFor returns what channel of team answers from for tenant: the
// channel's binding, else the workspace's, else ErrNotFound.
func (s *Store) BindingFor(ctx context.Context, tenant, team, channel string) (Binding, error) {
	b, err := scanBinding(s.db.QueryRowContext(ctx, `SELECT `+bindCols+` FROM bindings WHERE tenant_id = ? AND team_id = ?
		AND channel_id IN (?, '') ORDER BY channel_id DESC LIMIT 1`, tenant, team, channel))
	if errors.Is(err, sql.ErrNoRows) {
		return Binding{}, ErrNotFound
	}
	return b, err
}

// Policy is what Slack users may do with a tenant's workspace (ADR 0097):
// what `/rampart kb use` may bind, and whether users of other
// organisations are answered. The zero Policy (no row) allows neither.
type Policy struct {
	TeamID, TenantID    string
	BindableAssistants  []string
	BindableCollections []string
	AllowExternalUsers  bool
	UpdatedBy           string
	UpdatedAt           time.Time
}

// policyRow is a policy's content as stored: the lists as JSON text, the
// flag as 0 or 1. UpdatePolicy compares it whole to detect a write that
// came between its read and its write.
type policyRow struct {
	assistants, collections string
	external                int64
}

func rowOf(p Policy) (policyRow, error) {
	as, err := json.Marshal(append([]string{}, p.BindableAssistants...))
	if err != nil {
		return policyRow{}, err
	}
	cs, err := json.Marshal(append([]string{}, p.BindableCollections...))
	if err != nil {
		return policyRow{}, err
	}
	r := policyRow{assistants: string(as), collections: string(cs)}
	if p.AllowExternalUsers {
		r.external = 1
	}
	return r, nil
}

// Etag names p's content (tenant, team, both lists and the flag; not who
// changed it when): equal etags, equal policies. A read-modify-write
// sends it back so that UpdatePolicy's caller can refuse to apply a
// change made to a policy that has since changed. The zero policy has
// one too, so the first update of a workspace is guarded as well.
func (p Policy) Etag() string {
	r, err := rowOf(p)
	if err != nil { // cannot happen: a list of strings always marshals
		return ""
	}
	sum := sha256.Sum256([]byte(strings.Join([]string{p.TenantID, p.TeamID, r.assistants, r.collections, strconv.FormatInt(r.external, 10)}, "\x00")))
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

// PutPolicy records p (replacing the team's policy) if p's team is a live
// installation of p's tenant; otherwise ErrNotFound.
func (s *Store) PutPolicy(ctx context.Context, p Policy) error {
	r, err := rowOf(p)
	if err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO installation_policies (team_id, tenant_id, bindable_assistants, bindable_collections,
		allow_external_users, updated_by, updated_at)
		SELECT ?, ?, ?, ?, CAST(? AS INTEGER), ?, CAST(? AS BIGINT) WHERE EXISTS (SELECT 1 FROM installations WHERE team_id = ? AND tenant_id = ? AND disabled_at = 0)
		ON CONFLICT (team_id) DO UPDATE SET tenant_id = excluded.tenant_id, bindable_assistants = excluded.bindable_assistants,
		bindable_collections = excluded.bindable_collections, allow_external_users = excluded.allow_external_users,
		updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
		p.TeamID, p.TenantID, r.assistants, r.collections, r.external, p.UpdatedBy, p.UpdatedAt.Unix(), p.TeamID, p.TenantID)
	if err != nil {
		return fmt.Errorf("put policy: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// ErrConflict means UpdatePolicy lost the race for the row every time
// it tried.
var ErrConflict = errors.New("store: concurrent updates")

// policyTries bounds UpdatePolicy's read-change-write rounds: each lost
// round means another write landed, so a few suffice unless the row is
// hammered.
const policyTries = 8

// UpdatePolicy applies change to the tenant's policy of team (the zero
// policy when none is stored) and stores the result, without losing a
// write made concurrently by another request or replica: the write is
// conditional on the row still holding what was read (or still being
// absent), and a lost round reads again and calls change again. So
// change must be a function of the policy it is given (and may refuse
// it: its error is returned as is, nothing written). ErrNotFound when
// team is not a live installation of tenant; ErrConflict after
// policyTries lost rounds.
func (s *Store) UpdatePolicy(ctx context.Context, tenant, team string, change func(Policy) (Policy, error)) (Policy, error) {
	for range policyTries {
		cur, stored, err := s.readPolicy(ctx, tenant, team)
		if err != nil {
			return Policy{}, err
		}
		next, err := change(cur)
		if err != nil {
			return Policy{}, err
		}
		next.TenantID, next.TeamID = tenant, team
		won, err := s.swapPolicy(ctx, stored, next)
		if err != nil || won {
			return next, err
		}
		// Lost: another write came between, or the installation is gone.
		var live int
		if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM installations WHERE team_id = ? AND tenant_id = ? AND disabled_at = 0`,
			team, tenant).Scan(&live); err != nil {
			return Policy{}, err
		}
		if live == 0 {
			return Policy{}, ErrNotFound
		}
	}
	return Policy{}, ErrConflict
}

// swapPolicy writes next if the row still holds old (nil: no row yet)
// and the installation is live; false when it does not.
func (s *Store) swapPolicy(ctx context.Context, old *policyRow, next Policy) (bool, error) {
	r, err := rowOf(next)
	if err != nil {
		return false, err
	}
	var res sql.Result
	if old == nil {
		res, err = s.db.ExecContext(ctx, `INSERT INTO installation_policies (team_id, tenant_id, bindable_assistants, bindable_collections,
			allow_external_users, updated_by, updated_at)
			SELECT ?, ?, ?, ?, CAST(? AS INTEGER), ?, CAST(? AS BIGINT) WHERE EXISTS (SELECT 1 FROM installations WHERE team_id = ? AND tenant_id = ? AND disabled_at = 0)
			ON CONFLICT (team_id) DO NOTHING`,
			next.TeamID, next.TenantID, r.assistants, r.collections, r.external, next.UpdatedBy, next.UpdatedAt.Unix(), next.TeamID, next.TenantID)
	} else {
		res, err = s.db.ExecContext(ctx, `UPDATE installation_policies SET bindable_assistants = ?, bindable_collections = ?,
			allow_external_users = CAST(? AS INTEGER), updated_by = ?, updated_at = CAST(? AS BIGINT)
			WHERE team_id = ? AND tenant_id = ? AND bindable_assistants = ? AND bindable_collections = ? AND allow_external_users = CAST(? AS INTEGER)
			AND EXISTS (SELECT 1 FROM installations WHERE team_id = ? AND tenant_id = ? AND disabled_at = 0)`,
			r.assistants, r.collections, r.external, next.UpdatedBy, next.UpdatedAt.Unix(),
			next.TeamID, next.TenantID, old.assistants, old.collections, old.external, next.TeamID, next.TenantID)
	}
	if err != nil {
		return false, fmt.Errorf("update policy: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// PolicyFor returns the tenant's policy of team; the zero Policy (for team
// and tenant) when none was set.
func (s *Store) PolicyFor(ctx context.Context, tenant, team string) (Policy, error) {
	p, _, err := s.readPolicy(ctx, tenant, team)
	return p, err
}

// readPolicy is PolicyFor plus the row as stored (nil when there is none).
func (s *Store) readPolicy(ctx context.Context, tenant, team string) (Policy, *policyRow, error) {
	p := Policy{TeamID: team, TenantID: tenant}
	var r policyRow
	var at int64
	err := s.db.QueryRowContext(ctx, `SELECT bindable_assistants, bindable_collections, allow_external_users, updated_by, updated_at
		FROM installation_policies WHERE tenant_id = ? AND team_id = ?`, tenant, team).Scan(&r.assistants, &r.collections, &r.external, &p.UpdatedBy, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return p, nil, nil
	}
	if err != nil {
		return Policy{}, nil, err
	}
	if err := json.Unmarshal([]byte(r.assistants), &p.BindableAssistants); err != nil {
		return Policy{}, nil, fmt.Errorf("policy %s: assistants: %w", team, err)
	}
	if err := json.Unmarshal([]byte(r.collections), &p.BindableCollections); err != nil {
		return Policy{}, nil, fmt.Errorf("policy %s: collections: %w", team, err)
	}
	p.AllowExternalUsers, p.UpdatedAt = r.external != 0, time.Unix(at, 0)
	return p, &r, nil
}

// Cursor returns the saved position of stream name (0 when none).
func (s *Store) Cursor(ctx context.Context, name string) (int64, error) {
	var c int64
	err := s.db.QueryRowContext(ctx, `SELECT cursor FROM stream_cursors WHERE name = ?`, name).Scan(&c)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return c, err
}

// SetCursor saves the position of stream name.
func (s *Store) SetCursor(ctx context.Context, name string, cursor int64) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO stream_cursors (name, cursor) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET cursor = excluded.cursor`, name, cursor)
	return err
}

// PurgeTenant deletes everything the adapter keeps for tenant: its
// installations (metadata; the tokens are in the tenant's keyvault, which
// keyvault shreds), their notice tokens, bindings and sealed adapter key.
// Idempotent.
func (s *Store) PurgeTenant(ctx context.Context, tenant string) error {
	rtx, tx, err := s.beginTx(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = rtx.Rollback() }()
	for _, q := range []string{
		`DELETE FROM bindings WHERE tenant_id = ?`,
		`DELETE FROM installation_policies WHERE tenant_id = ?`,
		`DELETE FROM installations WHERE tenant_id = ?`,
		`DELETE FROM tenant_keys WHERE tenant_id = ?`,
		`DELETE FROM oauth_states WHERE tenant_id = ?`,
		`DELETE FROM bot_threads WHERE tenant_id = ?`,
		`DELETE FROM notice_tokens WHERE tenant_id = ?`,
		`DELETE FROM token_deletions WHERE tenant_id = ?`, // keyvault shreds the tenant
	} {
		if _, err := tx.ExecContext(ctx, q, tenant); err != nil {
			return fmt.Errorf("purge tenant: %w", err)
		}
	}
	return rtx.Commit()
}
