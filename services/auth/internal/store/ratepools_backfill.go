package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/pressly/goose/v3"

	"github.com/rampart-platform/rampart/pkg/principal"
)

// ratePoolsVersion is the migration that backfills the keys' rate pools
// (ADR 0086): a Go migration, as deriving a chain of keys is not one SQL
// statement in both dialects. Its down step leaves the pools (an auth
// before it ignores rpm_pools, and reads rpm_pool as ADR 0076 wrote it).
const ratePoolsVersion = 5

func ratePoolsMigration(d Dialect) *goose.Migration {
	return goose.NewGoMigration(ratePoolsVersion, &goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
		return backfillRatePools(ctx, &Queries{x: tx, d: d, inTx: true})
	}}, nil)
}

// poolRow is what the backfill reads of a key.
type poolRow struct {
	tenant, createdBy, origin string
	limits                    Limits
	raw                       string

	state    int8 // 0 not yet derived, 1 deriving (a cycle guard), 2 derived
	rpm, tpm []RatePool
}

// backfillRatePools derives every key's nested rate pools (ADR 0076, 0086)
// from how it was made, for keys stored before auth set them: a key's
// maker is the key it was rotated from (the one whose replaced_by names
// it), else the key of its created_by ("key:<id>/<subject>") in its
// tenant; its pools are its maker's pools followed by its maker's own
// bucket when narrower (NestPools), as CreateKey and RotateKey set them.
// A key whose pools are already stored keeps them, and a pool stored by
// ADR 0076 that the derivation does not reach (its maker is gone) is kept:
// the backfill only adds bounds. Chains deeper than
// principal.MaxRatePools keep their outermost and innermost pools
// (BoundPools). Idempotent: a second run changes nothing.
func backfillRatePools(ctx context.Context, q *Queries) error {
	rows, err := q.query(ctx, `SELECT key_id, tenant_id, limits, created_by, replaced_by FROM api_keys`)
	if err != nil {
		return fmt.Errorf("backfill rate pools: %w", err)
	}
	keys := map[string]*poolRow{}
	origin := map[string]string{} // replacement → the key it was rotated from
	for rows.Next() {
		var id, replacedBy string
		r := &poolRow{}
		if err := rows.Scan(&id, &r.tenant, &r.raw, &r.createdBy, &replacedBy); err != nil {
			_ = rows.Close()
			return fmt.Errorf("backfill rate pools: %w", err)
		}
		if err := json.Unmarshal([]byte(r.raw), &r.limits); err != nil {
			_ = rows.Close()
			return fmt.Errorf("backfill rate pools: limits of key %s: %w", id, err)
		}
		keys[id] = r
		if replacedBy != "" {
			origin[replacedBy] = id
		}
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("backfill rate pools: %w", err)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("backfill rate pools: %w", err)
	}
	for id, r := range keys {
		r.origin = origin[id]
	}
	for id, r := range keys {
		rpm, tpm := derivePools(keys, id)
		l := r.limits
		if slices.Equal(l.RPMPools, rpm) && slices.Equal(l.TPMPools, tpm) {
			continue
		}
		l.SetPools(rpm, tpm)
		if _, err := q.exec(ctx, `UPDATE api_keys SET limits = ? WHERE key_id = ?`, jsonText(l), id); err != nil {
			return fmt.Errorf("backfill rate pools of key %s: %w", id, err)
		}
	}
	return nil
}

// derivePools returns key id's pools (memoized in keys).
func derivePools(keys map[string]*poolRow, id string) (rpm, tpm []RatePool) {
	r := keys[id]
	switch r.state {
	case 2:
		return r.rpm, r.tpm
	case 1: // a cycle (not made by auth): the stored pools only
		return poolsOf(r.limits.RPMPools, r.limits.RPMPool), poolsOf(r.limits.TPMPools, r.limits.TPMPool)
	}
	r.state = 1
	maker := r.origin
	if maker == "" {
		maker = makerKey(r.createdBy)
	}
	var makerRPM, makerTPM []RatePool
	m, ok := keys[maker]
	if ok && m.tenant == r.tenant {
		mr, mt := derivePools(keys, maker)
		makerRPM = BoundPools(NestPools(mr, maker, m.limits.RPM), principal.MaxRatePools)
		makerTPM = BoundPools(NestPools(mt, maker, m.limits.TPM), principal.MaxRatePools)
	}
	r.rpm = mergePools(r.limits.RPMPools, r.limits.RPMPool, makerRPM)
	r.tpm = mergePools(r.limits.TPMPools, r.limits.TPMPool, makerTPM)
	r.state = 2
	return r.rpm, r.tpm
}

// mergePools is a key's pools: those stored by ADR 0086 when present,
// else the derived ones — unless ADR 0076 stored a pool they do not start
// with (its maker is gone), which is kept alone.
func mergePools(stored []RatePool, legacy RatePool, derived []RatePool) []RatePool {
	switch {
	case len(stored) > 0:
		return stored
	case legacy.Key != "" && (len(derived) == 0 || derived[0] != legacy):
		return []RatePool{legacy}
	case len(derived) == 0:
		return nil
	}
	return derived
}

// makerKey is the key id of a created_by written by a key
// ("key:<id>/<subject>"), or "" for one written by a member or the
// platform.
func makerKey(createdBy string) string {
	rest, ok := strings.CutPrefix(createdBy, "key:")
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, "/")
	return id
}
