package keys

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/auth/internal/store"
)

type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *stepClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestRandomOperationsNeverEscalate runs random sequences of member and key
// operations, each by a random live key of the tenant acting as the edge
// would let it (the caller built from what verification would assert), and
// checks after every successful key creation or rotation that the new key
// does not exceed its creator: subject role, scopes, models, endpoints,
// limits and expiry. The check is written out here independently of
// [Covers]. It also checks that the tenant never loses its last owner key.
func TestRandomOperationsNeverEscalate(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	runs, steps := 8, 250
	if testing.Short() {
		runs = 2
	}
	total := map[string]int{}
	for run := range runs {
		s := seed + uint64(run)
		t.Run(fmt.Sprint("seed=", s), func(t *testing.T) {
			for k, n := range randomOps(t, rand.New(rand.NewPCG(s, s^0x9e3779b97f4a7c15)), steps) {
				total[k] += n
			}
		})
	}
	// The runs must have exercised both outcomes of key creation and
	// rotation (a single run may by chance see none).
	for _, op := range []string{"op2", "op4"} {
		require.Positive(t, total["ok "+op], "no successful %s", op)
		require.Positive(t, total["refused "+op], "no refused %s", op)
	}
}

func randomOps(t *testing.T, rng *rand.Rand, steps int) map[string]int {
	ctx := context.Background()
	db, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "auth.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	clock := &stepClock{t: time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)}
	svc, err := New(ctx, db, nil, nil, Options{Now: clock.Now})
	require.NoError(t, err)
	boot, err := svc.Bootstrap(ctx, Caller{Subject: "svc:test"}, "platform", "root@p")
	require.NoError(t, err)
	tid := boot.Tenant.ID

	subjects := []string{"root@p", "a@p", "b@p", "c@p", "d@p"}
	models := []string{"echo", "small", "big"}
	endpoints := []string{"/v1/chat", "/v1/embeddings", "/v1/chat/completions"}
	pick := func(n int) int { return rng.IntN(n) }
	subset := func(all []string, allowNil bool) []string {
		if allowNil && rng.IntN(3) == 0 {
			return nil
		}
		var out []string
		for _, x := range all {
			if rng.IntN(2) == 0 {
				out = append(out, x)
			}
		}
		return out
	}
	randomRole := func() store.Role {
		return []store.Role{store.RoleOwner, store.RoleAdmin, store.RoleMember, store.RoleViewer}[pick(4)]
	}
	limit := func() int64 { return []int64{0, 5, 10, 100}[pick(4)] }
	q := db.Q()

	// callerOf is what the server would build from the key's assertion.
	callerOf := func(k store.Key) (Caller, bool) {
		m, err := q.GetMemberBySubject(ctx, tid, k.Subject)
		if err != nil {
			return Caller{}, false
		}
		return Caller{TenantID: tid, KeyID: k.ID, Subject: k.Subject, Role: m.Role, Scopes: effectiveScopes(k.Scopes, m.Role)}, true
	}
	liveKeys := func() []store.Key {
		ks, err := q.ListKeys(ctx, tid, "", "", 1000)
		require.NoError(t, err)
		now := clock.Now()
		return slices.DeleteFunc(ks, func(k store.Key) bool {
			return (k.State != store.KeyActive && k.State != store.KeyRotating) || !now.Before(k.ExpiresAt)
		})
	}
	roleOf := func(subject string) store.Role {
		m, err := q.GetMemberBySubject(ctx, tid, subject)
		if err != nil {
			return 0
		}
		return m.Role
	}
	// within: nil is "all"; an empty, non-nil list is "nothing".
	within := func(parent, child []string) bool {
		if parent == nil {
			return true
		}
		if child == nil {
			return false
		}
		for _, c := range child {
			if !slices.ContainsFunc(parent, func(p string) bool { return p == c || endpointCovers(p, c) }) {
				return false
			}
		}
		return true
	}
	limitOK := func(parent, child int64) bool { return parent == 0 || (child > 0 && child <= parent) }
	// Effective values inside the tenant (written out again here, not
	// taken from cover.go): the tenant's limits bound every key.
	tenantLimits := func() store.TenantLimits {
		tt, err := q.GetTenant(ctx, tid)
		require.NoError(t, err)
		return tt.Limits
	}
	effLimit := func(k, tl int64) int64 {
		if k == 0 || (tl != 0 && tl < k) {
			return tl
		}
		return k
	}
	all := func(l []string) []string {
		if len(l) == 0 {
			return nil // a stored empty list means "all"
		}
		return l
	}
	effective := func(k store.Key, tl store.TenantLimits) store.Key {
		k.AllowedModels, k.AllowedEndpoints = all(k.AllowedModels), all(k.AllowedEndpoints)
		switch {
		case len(tl.AllowedModels) == 0:
		case len(k.AllowedModels) == 0:
			k.AllowedModels = tl.AllowedModels
		default:
			both := []string{}
			for _, m := range k.AllowedModels {
				if slices.Contains(tl.AllowedModels, m) {
					both = append(both, m)
				}
			}
			k.AllowedModels = both
		}
		k.Limits = store.Limits{RPM: effLimit(k.Limits.RPM, tl.RPM), TPM: effLimit(k.Limits.TPM, tl.TPM),
			MonthlyTokens: effLimit(k.Limits.MonthlyTokens, tl.MonthlyTokens)}
		return k
	}
	// exceeds is the invariant, stated independently of Covers.
	exceeds := func(creator store.Key, creatorRole store.Role, child store.Key, childRole store.Role, tl store.TenantLimits) string {
		creator, child = effective(creator, tl), effective(child, tl)
		switch {
		case childRole < creatorRole:
			return "role"
		case !slices.Contains(effectiveScopes(creator.Scopes, creatorRole), ScopeAdmin) &&
			slices.ContainsFunc(child.Scopes, func(s string) bool { return !slices.Contains(effectiveScopes(creator.Scopes, creatorRole), s) }):
			return "scopes"
		case !within(creator.AllowedModels, child.AllowedModels):
			return "models"
		case !within(creator.AllowedEndpoints, child.AllowedEndpoints):
			return "endpoints"
		case !limitOK(creator.Limits.RPM, child.Limits.RPM), !limitOK(creator.Limits.TPM, child.Limits.TPM),
			!limitOK(creator.Limits.MonthlyTokens, child.Limits.MonthlyTokens):
			return "limits"
		case child.ExpiresAt.After(creator.ExpiresAt):
			return "expiry"
		}
		return ""
	}

	counts := map[string]int{}
	for step := range steps {
		ks := liveKeys()
		require.NotEmpty(t, ks, "step %d: the tenant lost every key", step)
		actor := ks[pick(len(ks))]
		c, ok := callerOf(actor)
		if !ok {
			continue
		}
		actorRole := c.Role
		tl := tenantLimits()
		op := []int{0, 1, 2, 2, 4, 5, 6, 7}[pick(8)] // creation twice as often
		switch op {
		case 0: // add a member
			_, err = svc.CreateMember(ctx, c, subjects[pick(len(subjects))], store.MemberUser, randomRole())
		case 1: // change a member's role
			ms, lerr := q.ListMembers(ctx, tid, "", 100)
			require.NoError(t, lerr)
			_, err = svc.UpdateMember(ctx, c, ms[pick(len(ms))].ID, randomRole())
		case 2: // create a key
			in := CreateKeyInput{Name: "k", Subject: subjects[pick(len(subjects))], Scopes: subset(KnownScopes, false),
				AllowedModels: subset(models, true), AllowedEndpoints: subset(endpoints, true),
				Limits: store.Limits{RPM: limit(), TPM: limit(), MonthlyTokens: limit()},
				TTL:    []time.Duration{0, time.Hour, 30 * 24 * time.Hour, 200 * 24 * time.Hour}[pick(4)]}
			if rng.IntN(2) == 0 {
				in.Subject = ""
			}
			var out Created
			out, err = svc.CreateKey(ctx, c, in)
			if err == nil {
				if why := exceeds(actor, actorRole, out.Key, roleOf(out.Key.Subject), tl); why != "" {
					t.Fatalf("step %d: key %s created by %s exceeds its creator in %s\ncreator %+v (role %d)\nchild %+v", step, out.Key.ID, actor.ID, why, actor, actorRole, out.Key)
				}
				if why := leavesPool(actor, out.Key); why != "" {
					t.Fatalf("step %d: key %s created by %s %s", step, out.Key.ID, actor.ID, why)
				}
			}
		case 4: // rotate a key
			target := ks[pick(len(ks))]
			var r Rotation
			r, err = svc.RotateKey(ctx, c, target.ID, time.Hour)
			if err == nil && target.ID != actor.ID && target.ID != actor.ReplacedBy {
				if why := exceeds(actor, actorRole, r.New.Key, roleOf(r.New.Key.Subject), tl); why != "" {
					t.Fatalf("step %d: rotation of %s by %s exceeds the rotating key in %s\nrotating %+v (role %d)\ntarget %+v\nnew %+v\ntenant %+v", step, target.ID, actor.ID, why, actor, actorRole, target, r.New.Key, tl)
				}
			}
			if err == nil {
				if why := leavesPool(target, r.New.Key); why != "" {
					t.Fatalf("step %d: replacement %s of %s %s", step, r.New.Key.ID, target.ID, why)
				}
			}
		case 5: // revoke a key
			// with or without the keys made with it (ADR 0110)
			_, _, err = svc.RevokeKey(ctx, c, ks[pick(len(ks))].ID, pick(2) == 0)
		case 7: // remove a member
			ms, lerr := q.ListMembers(ctx, tid, "", 100)
			require.NoError(t, lerr)
			err = svc.DeleteMember(ctx, c, ms[pick(len(ms))].ID)
		case 6: // set the tenant's limits (owners only)
			_, err = svc.UpdateTenantLimits(ctx, c, tid, store.TenantLimits{RPM: limit(), TPM: limit(), MonthlyTokens: limit(),
				AllowedModels: subset(models, true)})
		}
		if os.Getenv("PROP_DEBUG") != "" {
			t.Logf("step %d op %d by %s (%s role %d): err=%v live=%d", step, op, actor.ID, actor.Subject, actorRole, err, len(liveKeys()))
		}
		if err == nil {
			counts[fmt.Sprint("ok op", op)]++
		} else {
			counts[fmt.Sprint("refused op", op)]++
		}
		ok, rerr := ownerKeyRemains(ctx, q, tid, "", "", clock.Now())
		require.NoError(t, rerr)
		require.True(t, ok, "step %d (op %d): the tenant has no owner key left", step, op)
		// A key minted for another subject never exceeds its minter's
		// current role, whatever role changes came after (ADR 0069 §1).
		for _, k := range liveKeys() {
			by := minter(k)
			if by == "" || by == k.Subject || roleOf(k.Subject) == 0 {
				continue
			}
			byRole := roleOf(by)
			require.NotZero(t, byRole, "step %d (op %d): live key %s was minted by %s, no longer a member", step, op, k.ID, by)
			require.GreaterOrEqual(t, roleOf(k.Subject), byRole, "step %d (op %d): key %s's subject is above its minter %s", step, op, k.ID, by)
			for _, sc := range k.Scopes {
				require.Contains(t, RoleScopes(byRole), sc, "step %d (op %d): key %s holds a scope beyond its minter %s's role", step, op, k.ID, by)
			}
		}
		// Time passes, but not past the last owner key's expiry: keys that
		// simply expire are the operator's recover-owner case, not an
		// operation that stranded the tenant.
		if d := time.Duration(pick(60)) * time.Minute; pick(10) == 0 {
			if ok, err := ownerKeyRemains(ctx, q, tid, "", "", clock.Now().Add(d)); err == nil && ok {
				clock.advance(d)
			}
		}
	}
	t.Log(counts)
	return counts
}

// leavesPool states the rate-pool invariants (ADR 0076, 0086)
// independently of Key.RequestsPools: a key made from from (minted by it,
// or rotated from it) is charged to every pool from is in, and to from's
// own bucket when from's limit is narrower than all of them (or from is in
// none), so no key escapes a limited key's rate — its own, or any above
// it — by minting or rotating. Empty when it holds.
func leavesPool(from, made store.Key) string {
	for _, l := range []struct {
		what                 string
		madePool             store.RatePool
		fromPools, madePools []store.RatePool
		fromOwn              int64
	}{
		{"requests", made.Limits.RPMPool, from.Limits.RPMPools, made.Limits.RPMPools, from.Limits.RPM},
		{"tokens", made.Limits.TPMPool, from.Limits.TPMPools, made.Limits.TPMPools, from.Limits.TPM},
	} {
		want := slices.Clone(l.fromPools)
		narrowest := int64(math.MaxInt64)
		for _, p := range want {
			narrowest = min(narrowest, p.PerMinute)
		}
		if l.fromOwn > 0 && l.fromOwn < narrowest {
			want = append(want, store.RatePool{Key: from.ID, PerMinute: l.fromOwn})
		}
		if !slices.Equal(l.madePools, want) {
			return fmt.Sprintf("is in %s pools %+v, want %+v", l.what, l.madePools, want)
		}
		if len(want) > 0 && l.madePool != want[0] {
			return fmt.Sprintf("has outer %s pool %+v, want %+v", l.what, l.madePool, want[0])
		}
	}
	return ""
}
