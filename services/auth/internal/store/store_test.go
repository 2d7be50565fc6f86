package store_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/store/pgtest"

	"github.com/rampart-platform/rampart/services/auth/internal/store"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)

// TestContract runs the store's contract on SQLite and PostgreSQL, each
// case on a fresh database (pgtest.RunContract).
func TestContract(t *testing.T) {
	type db = *store.DB
	cases := []pgtest.Case[db]{
		{Name: "tenants", Run: func(ctx context.Context, t *testing.T, open func(*testing.T) db) { tenants(ctx, t, open(t)) }},
		{Name: "members and keys", Run: func(ctx context.Context, t *testing.T, open func(*testing.T) db) { membersAndKeys(ctx, t, open(t)) }},
		{Name: "events", Run: func(ctx context.Context, t *testing.T, open func(*testing.T) db) { eventsLog(ctx, t, open(t)) }},
		{Name: "audit chain", Run: func(ctx context.Context, t *testing.T, open func(*testing.T) db) { auditChain(ctx, t, open(t)) }},
		{Name: "transactions roll back", Run: func(ctx context.Context, t *testing.T, open func(*testing.T) db) { rollback(ctx, t, open(t)) }},
		{Name: "signing keys and meta", Run: func(ctx context.Context, t *testing.T, open func(*testing.T) db) { signingAndMeta(ctx, t, open(t)) }},
	}
	pgtest.RunContract(t, "auth", pgtest.Openers[db]{
		SQLite: func(ctx context.Context, dir string) (db, error) {
			return store.OpenSQLite(ctx, filepath.Join(dir, "auth.db"))
		},
		Postgres: store.OpenPostgres,
	}, cases)
}

func mustTenant(ctx context.Context, t *testing.T, db *store.DB, id string) {
	t.Helper()
	require.NoError(t, db.Q().InsertTenant(ctx, store.Tenant{ID: id, Name: id, State: store.TenantActive, CreatedAt: t0, UpdatedAt: t0}))
}

func tenants(ctx context.Context, t *testing.T, db *store.DB) {
	mustTenant(ctx, t, db, "t_a")
	mustTenant(ctx, t, db, "t_b")
	require.ErrorIs(t, db.Q().InsertTenant(ctx, store.Tenant{ID: "t_a", Name: "x", State: 1}), store.ErrConflict)
	got, err := db.Q().GetTenant(ctx, "t_a")
	require.NoError(t, err)
	require.Equal(t, store.Tenant{ID: "t_a", Name: "t_a", State: store.TenantActive, CreatedAt: t0, UpdatedAt: t0}, got)
	_, err = db.Q().GetTenant(ctx, "t_zz")
	require.ErrorIs(t, err, store.ErrNotFound)
	t.Run("limits", func(t *testing.T) {
		l := store.TenantLimits{RPM: 60, TPM: 1000, MonthlyTokens: 1 << 40, AllowedModels: []string{"echo", "gpt-4o"}}
		require.NoError(t, db.Q().SetTenantLimits(ctx, "t_b", l, t0.Add(time.Minute)))
		gb, err := db.Q().GetTenant(ctx, "t_b")
		require.NoError(t, err)
		require.Equal(t, l, gb.Limits)
		require.Equal(t, t0.Add(time.Minute), gb.UpdatedAt)
		require.ErrorIs(t, db.Q().SetTenantLimits(ctx, "t_zz", l, t0), store.ErrNotFound)
		require.NoError(t, db.Q().SetTenantLimits(ctx, "t_b", store.TenantLimits{}, t0))
		gb, err = db.Q().GetTenant(ctx, "t_b")
		require.NoError(t, err)
		require.Equal(t, store.TenantLimits{}, gb.Limits, "cleared")
	})
	list, err := db.Q().ListTenants(ctx, "", 1)
	require.NoError(t, err)
	require.Len(t, list, 1)
	list, err = db.Q().ListTenants(ctx, list[0].ID, 10)
	require.NoError(t, err)
	require.Equal(t, "t_b", list[0].ID)

	got.State, got.DeletedAt, got.PurgeAt = store.TenantDeleted, t0, t0.Add(time.Hour)
	require.NoError(t, db.Q().UpdateTenant(ctx, got))
	due, err := db.Q().TenantsToPurge(ctx, t0.Add(30*time.Minute), 10)
	require.NoError(t, err)
	require.Empty(t, due)
	_, tenantsDue, err := db.Q().SweepDue(ctx, t0.Add(30*time.Minute))
	require.NoError(t, err)
	require.False(t, tenantsDue, "the probe agrees with the listing: nothing to purge yet")
	due, err = db.Q().TenantsToPurge(ctx, t0.Add(time.Hour), 10)
	require.NoError(t, err)
	require.Len(t, due, 1)
	_, tenantsDue, err = db.Q().SweepDue(ctx, t0.Add(time.Hour))
	require.NoError(t, err)
	require.True(t, tenantsDue, "the probe agrees with the listing: one to purge")
	require.NoError(t, db.Q().PurgeTenant(ctx, "t_a", t0))
	_, err = db.Q().GetTenant(ctx, "t_a")
	require.ErrorIs(t, err, store.ErrNotFound)
	n, err := db.Q().CountTenants(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 2, n, "purged tenants still count: bootstrap never reopens")
}

func membersAndKeys(ctx context.Context, t *testing.T, db *store.DB) {
	mustTenant(ctx, t, db, "t_m1")
	mustTenant(ctx, t, db, "t_m2")
	m := store.Member{ID: "m_1", TenantID: "t_m1", Subject: "ann@example.com", Kind: store.MemberUser, Role: store.RoleAdmin, CreatedAt: t0, UpdatedAt: t0}
	require.NoError(t, db.Q().InsertMember(ctx, m))
	require.ErrorIs(t, db.Q().InsertMember(ctx, store.Member{ID: "m_2", TenantID: "t_m1", Subject: "ann@example.com", Kind: 1, Role: 3}), store.ErrConflict)
	got, err := db.Q().GetMember(ctx, "t_m1", "m_1")
	require.NoError(t, err)
	require.Equal(t, m, got)
	_, err = db.Q().GetMember(ctx, "t_m2", "m_1")
	require.ErrorIs(t, err, store.ErrNotFound, "members are scoped by tenant")
	require.ErrorIs(t, db.Q().UpdateMemberRole(ctx, "t_m2", "m_1", store.RoleOwner, t0), store.ErrNotFound)

	k := store.Key{ID: "AAAAAAAAAAAA", TenantID: "t_m1", Salt: []byte("salt"), Hash: []byte("hash"), Name: "k",
		Subject: "ann@example.com", Scopes: []string{"chat:write"}, Limits: store.Limits{RPM: 5},
		State: store.KeyActive, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), CreatedBy: "test", BudgetKey: "ZZZZZZZZZZZZ"}
	require.NoError(t, db.Q().InsertKey(ctx, k))
	gk, err := db.Q().GetKey(ctx, "t_m1", k.ID)
	require.NoError(t, err)
	require.Equal(t, []string{}, gk.AllowedModels)
	gk.AllowedModels, gk.AllowedEndpoints = nil, nil
	require.Equal(t, k, gk)
	_, err = db.Q().GetKey(ctx, "t_m2", k.ID)
	require.ErrorIs(t, err, store.ErrNotFound, "keys are scoped by tenant")

	ka, err := db.Q().KeyForVerify(ctx, k.ID)
	require.NoError(t, err)
	require.Equal(t, store.TenantActive, ka.TenantState)
	require.Equal(t, store.RoleAdmin, ka.Role)
	require.Equal(t, store.TenantLimits{}, ka.TenantLimits)
	tl := store.TenantLimits{TPM: 7, AllowedModels: []string{"echo"}}
	require.NoError(t, db.Q().SetTenantLimits(ctx, "t_m1", tl, t0))
	ka, err = db.Q().KeyForVerify(ctx, k.ID)
	require.NoError(t, err)
	require.Equal(t, tl, ka.TenantLimits, "verification sees the tenant's limits")

	require.NoError(t, db.Q().InsertMember(ctx, store.Member{ID: "m_o", TenantID: "t_m1", Subject: "own@example.com", Kind: 1, Role: store.RoleOwner, CreatedAt: t0, UpdatedAt: t0}))
	ok := store.Key{ID: "BBBBBBBBBBBB", TenantID: "t_m1", Salt: []byte("s"), Hash: []byte("h"), Name: "o", Subject: "own@example.com",
		Scopes: []string{"admin"}, State: store.KeyActive, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), CreatedBy: "test"}
	require.NoError(t, db.Q().InsertKey(ctx, ok))
	owners, err := db.Q().LiveKeysOfRole(ctx, "t_m1", store.RoleOwner)
	require.NoError(t, err)
	require.Len(t, owners, 1)
	require.Equal(t, ok.ID, owners[0].ID)
	ok.State = store.KeyRevoked
	require.NoError(t, db.Q().UpdateKeyState(ctx, ok))
	owners, err = db.Q().LiveKeysOfRole(ctx, "t_m1", store.RoleOwner)
	require.NoError(t, err)
	require.Empty(t, owners, "revoked keys are not live")

	require.NoError(t, db.Q().TouchKeys(ctx, map[string]time.Time{k.ID: t0.Add(time.Minute)}))
	require.NoError(t, db.Q().TouchKeys(ctx, map[string]time.Time{k.ID: t0}), "an older time never overwrites")
	gk, _ = db.Q().GetKey(ctx, "t_m1", k.ID)
	require.Equal(t, t0.Add(time.Minute), gk.LastUsedAt)

	due, err := db.Q().DueForExpiry(ctx, t0.Add(time.Hour), 10)
	require.NoError(t, err)
	require.Len(t, due, 1)
	keysDue, _, err := db.Q().SweepDue(ctx, t0.Add(time.Hour))
	require.NoError(t, err)
	require.True(t, keysDue, "the probe agrees with the listing: one key due")
	k.State = store.KeyExpired
	require.NoError(t, db.Q().UpdateKeyState(ctx, k))
	due, err = db.Q().DueForExpiry(ctx, t0.Add(time.Hour), 10)
	require.NoError(t, err)
	require.Empty(t, due)
	keysDue, _, err = db.Q().SweepDue(ctx, t0.Add(time.Hour))
	require.NoError(t, err)
	require.False(t, keysDue, "the probe agrees with the listing: none due")

	ks, err := db.Q().ListKeys(ctx, "t_m1", "someone-else", "", 10)
	require.NoError(t, err)
	require.Empty(t, ks)
	ks, err = db.Q().ListKeys(ctx, "t_m1", "ann@example.com", "", 10)
	require.NoError(t, err)
	require.Len(t, ks, 1)

	require.NoError(t, db.Q().DeleteMember(ctx, "t_m1", "m_1"))
	ka, err = db.Q().KeyForVerify(ctx, k.ID)
	require.NoError(t, err)
	require.Zero(t, ka.Role, "a removed member's keys carry no role")
}

func eventsLog(ctx context.Context, t *testing.T, db *store.DB) {
	lo, hi, err := db.Q().EventBounds(ctx)
	require.NoError(t, err)
	require.Zero(t, lo)
	require.Zero(t, hi)
	var cursors []int64
	for i := range 3 {
		c, err := db.Q().AppendEvent(ctx, store.Event{Kind: store.EventKeyRevoked, TenantID: "t", KeyID: "k", At: t0.Add(time.Duration(i) * time.Hour)})
		require.NoError(t, err)
		cursors = append(cursors, c)
	}
	require.Less(t, cursors[0], cursors[1])
	evs, err := db.Q().EventsAfter(ctx, cursors[0], 10)
	require.NoError(t, err)
	require.Len(t, evs, 2)
	require.Equal(t, cursors[1], evs[0].Cursor)
	n, err := db.Q().PruneEvents(ctx, t0.Add(100*time.Hour))
	require.NoError(t, err)
	require.EqualValues(t, 2, n, "the newest event is always kept")
	lo, hi, err = db.Q().EventBounds(ctx)
	require.NoError(t, err)
	require.Equal(t, cursors[2], lo)
	require.Equal(t, cursors[2], hi)
}

func auditChain(ctx context.Context, t *testing.T, db *store.DB) {
	_, err := db.Q().AppendAudit(ctx, store.AuditRecord{TenantID: "t_x"})
	require.Error(t, err, "audit appends only inside a transaction")
	for i := range 5 {
		for _, tenant := range []string{"t_x", "t_y"} {
			require.NoError(t, db.Tx(ctx, func(q *store.Queries) error {
				_, err := q.AppendAudit(ctx, store.AuditRecord{TenantID: tenant, At: t0.Add(time.Duration(i) * time.Second), Actor: "a", Action: "key.create", Target: "key:x", Result: "ok"})
				return err
			}))
		}
	}
	res, err := db.Q().VerifyAuditChain(ctx, "t_x")
	require.NoError(t, err)
	require.Equal(t, store.ChainResult{OK: true, Checked: 5}, res)
	recs, err := db.Q().ListAudit(ctx, "t_x", 0, 2)
	require.NoError(t, err)
	require.Len(t, recs, 2)
	require.EqualValues(t, 5, recs[0].Seq)
	require.Equal(t, recs[1].Hash, recs[0].PrevHash)
	recs, err = db.Q().ListAudit(ctx, "t_x", 2, 10)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	require.Equal(t, store.GenesisHash, recs[0].PrevHash)
}

func rollback(ctx context.Context, t *testing.T, db *store.DB) {
	err := db.Tx(ctx, func(q *store.Queries) error {
		require.NoError(t, q.InsertTenant(ctx, store.Tenant{ID: "t_rb", Name: "rb", State: 1, CreatedAt: t0, UpdatedAt: t0}))
		_, err := q.AppendAudit(ctx, store.AuditRecord{TenantID: "t_rb", At: t0, Action: "tenant.create"})
		require.NoError(t, err)
		return q.InsertTenant(ctx, store.Tenant{ID: "t_rb", Name: "dup", State: 1})
	})
	require.ErrorIs(t, err, store.ErrConflict)
	_, err = db.Q().GetTenant(ctx, "t_rb")
	require.ErrorIs(t, err, store.ErrNotFound)
	recs, err := db.Q().ListAudit(ctx, "t_rb", 0, 10)
	require.NoError(t, err)
	require.Empty(t, recs)
}

func signingAndMeta(ctx context.Context, t *testing.T, db *store.DB) {
	_, err := db.Q().GetMeta(ctx, "k")
	require.ErrorIs(t, err, store.ErrNotFound)
	require.NoError(t, db.Q().SetMeta(ctx, "k", "v"))
	require.ErrorIs(t, db.Q().SetMeta(ctx, "k", "w"), store.ErrConflict)
	v, err := db.Q().GetMeta(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, "v", v)

	require.NoError(t, db.Q().InsertSigningKey(ctx, store.SigningKey{KID: "a", PublicKey: []byte{1}, Sealed: []byte{2}, CreatedAt: t0, NotAfter: t0.Add(time.Hour)}))
	require.NoError(t, db.Q().InsertSigningKey(ctx, store.SigningKey{KID: "b", PublicKey: []byte{3}, Sealed: []byte{4}, CreatedAt: t0.Add(time.Minute), NotAfter: t0.Add(2 * time.Hour)}))
	ks, err := db.Q().SigningKeys(ctx, t0)
	require.NoError(t, err)
	require.Len(t, ks, 2)
	require.Equal(t, "b", ks[0].KID, "newest first")
	require.NoError(t, db.Q().SetSigningKeyNotAfter(ctx, "a", t0))
	ks, err = db.Q().SigningKeys(ctx, t0)
	require.NoError(t, err)
	require.Len(t, ks, 1)
}

func TestAuditHashCoversEveryField(t *testing.T) {
	base := store.AuditRecord{TenantID: "t", Seq: 1, At: t0, Actor: "a", Action: "b", Target: "c", Result: "d", RequestID: "e", SourceIP: "f", PrevHash: store.GenesisHash}
	h := store.AuditHash(base)
	muts := []func(r *store.AuditRecord){
		func(r *store.AuditRecord) { r.TenantID = "u" },
		func(r *store.AuditRecord) { r.Seq = 2 },
		func(r *store.AuditRecord) { r.At = r.At.Add(time.Nanosecond) },
		func(r *store.AuditRecord) { r.Actor = "x" },
		func(r *store.AuditRecord) { r.Action = "x" },
		func(r *store.AuditRecord) { r.Target = "x" },
		func(r *store.AuditRecord) { r.Result = "x" },
		func(r *store.AuditRecord) { r.RequestID = "x" },
		func(r *store.AuditRecord) { r.SourceIP = "x" },
		func(r *store.AuditRecord) { r.PrevHash = "x" },
		func(r *store.AuditRecord) { r.Actor, r.Action = "ab", "" }, // no ambiguity across field boundaries
	}
	for i, m := range muts {
		r := base
		m(&r)
		require.NotEqual(t, h, store.AuditHash(r), "mutation %d", i)
	}
}

func TestReopenSQLiteKeepsDataAndMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.db")
	db, err := store.OpenSQLite(t.Context(), path)
	require.NoError(t, err)
	require.NoError(t, db.Q().SetMeta(t.Context(), "k", "v"))
	require.NoError(t, db.Close())
	db, err = store.OpenSQLite(t.Context(), path)
	require.NoError(t, err, "migrations are idempotent")
	defer db.Close()
	v, err := db.Q().GetMeta(t.Context(), "k")
	require.NoError(t, err)
	require.Equal(t, "v", v)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
}
