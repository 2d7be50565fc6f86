package store_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/store/pgtest"

	"github.com/rampart-platform/rampart/services/auth/internal/store"
)

// TestRatePoolsBackfill (ADR 0086): keys stored before auth set rate pools
// (ADR 0076) or nested them (ADR 0086) get them from how they were made —
// the key they were rotated from, else the key in their created_by — when
// the migration runs; a second run changes nothing. SQLite and PostgreSQL.
func TestRatePoolsBackfill(t *testing.T) {
	type db = *store.DB
	pgtest.RunContract(t, "auth", pgtest.Openers[db]{
		SQLite: func(ctx context.Context, dir string) (db, error) {
			return store.OpenSQLite(ctx, filepath.Join(dir, "auth.db"))
		},
		Postgres: store.OpenPostgres,
	}, []pgtest.Case[db]{{Name: "backfill", Run: func(ctx context.Context, t *testing.T, open func(*testing.T) db) { ratePoolsBackfill(ctx, t, open(t)) }}})
}

func ratePoolsBackfill(ctx context.Context, t *testing.T, db *store.DB) {
	mustTenant(ctx, t, db, "t_p")
	mustTenant(ctx, t, db, "t_q")
	n := 0
	put := func(id, tenant, createdBy string, l store.Limits) {
		t.Helper()
		n++
		require.NoError(t, db.Q().InsertKey(ctx, store.Key{ID: id, TenantID: tenant, Salt: []byte("s"), Hash: []byte("h"), Name: id, Subject: "s@example.com",
			Limits: l, State: store.KeyActive, CreatedAt: t0.Add(time.Duration(n) * time.Second), ExpiresAt: t0.Add(time.Hour), CreatedBy: createdBy}))
	}
	by := func(id string) string { return "key:" + id + "/s@example.com" }
	// Before ADR 0076: no pools anywhere.
	put("KeYa00000000", "t_p", "owner@example.com", store.Limits{RPM: 60, TPM: 1000})
	put("KeYb00000000", "t_p", by("KeYa00000000"), store.Limits{RPM: 10, TPM: 1000})
	put("KeYc00000000", "t_p", by("KeYb00000000"), store.Limits{RPM: 10, TPM: 500})
	// B rotated by its (unlimited) owner: the replacement's maker is B.
	put("KeYr00000000", "t_p", "owner@example.com", store.Limits{RPM: 10, TPM: 1000})
	old, err := db.Q().GetKey(ctx, "t_p", "KeYb00000000")
	require.NoError(t, err)
	old.State, old.ReplacedBy = store.KeyRotating, "KeYr00000000"
	require.NoError(t, db.Q().UpdateKeyState(ctx, old))
	// Minted under ADR 0076: its one pool stored, its maker known.
	put("KeYd00000000", "t_p", by("KeYb00000000"), store.Limits{RPM: 5, RPMPool: store.RatePool{Key: "KeYa00000000", PerMinute: 60}})
	// Under ADR 0076, its maker gone: its pool is kept.
	put("KeYe00000000", "t_p", by("GoNe00000000"), store.Limits{RPM: 5, RPMPool: store.RatePool{Key: "GoNe00000000", PerMinute: 30}})
	// Made by an unlimited key: no pool.
	put("KeYu00000000", "t_p", "owner@example.com", store.Limits{})
	put("KeYf00000000", "t_p", by("KeYu00000000"), store.Limits{RPM: 7})
	// created_by names a key of another tenant: not its maker.
	put("KeYx00000000", "t_q", by("KeYa00000000"), store.Limits{RPM: 3})
	// Six narrowing levels: the deepest keeps the outermost and the three
	// innermost pools.
	put("DeEp10000000", "t_p", "owner@example.com", store.Limits{RPM: 60})
	put("DeEp20000000", "t_p", by("DeEp10000000"), store.Limits{RPM: 50})
	put("DeEp30000000", "t_p", by("DeEp20000000"), store.Limits{RPM: 40})
	put("DeEp40000000", "t_p", by("DeEp30000000"), store.Limits{RPM: 30})
	put("DeEp50000000", "t_p", by("DeEp40000000"), store.Limits{RPM: 20})
	put("DeEp60000000", "t_p", by("DeEp50000000"), store.Limits{RPM: 10})

	require.NoError(t, store.RedoRatePoolsMigration(ctx, db))

	rp := func(id string, per int64) store.RatePool { return store.RatePool{Key: id, PerMinute: per} }
	type pools = []store.RatePool
	want := []struct {
		tenant, id string
		rpm, tpm   pools
	}{
		{"t_p", "KeYa00000000", nil, nil},
		{"t_p", "KeYb00000000", pools{rp("KeYa00000000", 60)}, pools{rp("KeYa00000000", 1000)}},
		{"t_p", "KeYc00000000", pools{rp("KeYa00000000", 60), rp("KeYb00000000", 10)}, pools{rp("KeYa00000000", 1000)}},
		{"t_p", "KeYr00000000", pools{rp("KeYa00000000", 60), rp("KeYb00000000", 10)}, pools{rp("KeYa00000000", 1000)}},
		{"t_p", "KeYd00000000", pools{rp("KeYa00000000", 60), rp("KeYb00000000", 10)}, pools{rp("KeYa00000000", 1000)}},
		{"t_p", "KeYe00000000", pools{rp("GoNe00000000", 30)}, nil},
		{"t_p", "KeYu00000000", nil, nil},
		{"t_p", "KeYf00000000", nil, nil},
		{"t_q", "KeYx00000000", nil, nil},
		{"t_p", "DeEp50000000", pools{rp("DeEp10000000", 60), rp("DeEp20000000", 50), rp("DeEp30000000", 40), rp("DeEp40000000", 30)}, nil},
		{"t_p", "DeEp60000000", pools{rp("DeEp10000000", 60), rp("DeEp30000000", 40), rp("DeEp40000000", 30), rp("DeEp50000000", 20)}, nil},
	}
	read := func() []store.Key {
		var out []store.Key
		for _, w := range want {
			k, err := db.Q().GetKey(ctx, w.tenant, w.id)
			require.NoError(t, err)
			out = append(out, k)
		}
		return out
	}
	got := read()
	for i, w := range want {
		require.Equal(t, w.rpm, got[i].RequestsPools(), "%s requests pools", w.id)
		require.Equal(t, w.tpm, got[i].TokensPools(), "%s tokens pools", w.id)
		if len(w.rpm) > 0 {
			require.Equal(t, w.rpm[0], got[i].Limits.RPMPool, "%s: the outermost for an auth of ADR 0076", w.id)
		}
	}
	require.Equal(t, store.Limits{RPM: 10, TPM: 500, RPMPool: want[2].rpm[0], TPMPool: want[2].tpm[0], RPMPools: want[2].rpm, TPMPools: want[2].tpm}, got[2].Limits, "nothing but the pools changes")

	require.NoError(t, store.RedoRatePoolsMigration(ctx, db))
	require.Equal(t, got, read(), "a second run changes nothing")
}
