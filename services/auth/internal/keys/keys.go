package keys

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/rampart-platform/rampart/pkg/apikey"
	"github.com/rampart-platform/rampart/pkg/principal"

	"github.com/rampart-platform/rampart/services/auth/internal/store"
)

// CreateKeyInput describes a new key.
type CreateKeyInput struct {
	Name             string
	Subject          string // empty: the caller
	Scopes           []string
	AllowedModels    []string
	AllowedEndpoints []string
	Limits           store.Limits
	TTL              time.Duration // 0: default

	// now is the creation time checkCreate measured the expiry against;
	// the key is stamped with the same instant so a default lifetime capped
	// at the creating key's expiry lands exactly on it.
	now time.Time
}

// Created is a new key: metadata and the plaintext, shown once.
type Created struct {
	Key       store.Key
	Plaintext string
}

// checkCreate validates in and applies the covering rule: the new key's
// grant (subject role, scopes, models, endpoints, limits, expiry) must be
// covered by the creating key's. It fills the defaults (subject, TTL).
func (s *Service) checkCreate(ctx context.Context, a *access, in *CreateKeyInput) (store.Member, error) {
	c := a.c
	if c.Role == store.RoleViewer || c.Role == 0 {
		return store.Member{}, denied("viewers cannot create keys")
	}
	if !hasScope(a.grant.Scopes, ScopeKeysWrite) {
		return store.Member{}, denied("creating keys needs the keys:write or admin scope")
	}
	if err := checkText("name", in.Name, maxNameLen); err != nil {
		return store.Member{}, err
	}
	if err := checkScopes("scopes", in.Scopes); err != nil {
		return store.Member{}, err
	}
	if err := checkList("allowed_models", in.AllowedModels, false); err != nil {
		return store.Member{}, err
	}
	if err := checkList("allowed_endpoints", in.AllowedEndpoints, true); err != nil {
		return store.Member{}, err
	}
	if err := checkLimits(in.Limits); err != nil {
		return store.Member{}, err
	}
	now := s.opt.Now()
	in.now = now
	defaultTTL := in.TTL == 0
	switch {
	case in.TTL < 0:
		return store.Member{}, invalid("ttl_seconds", "must not be negative")
	case in.TTL == 0:
		in.TTL = s.opt.DefaultTTL
	case in.TTL > s.opt.MaxTTL:
		return store.Member{}, invalid("ttl_seconds", "must be at most %s", limitText(s.opt.MaxTTL))
	}
	// A default lifetime never outlives the creating key; an explicit one
	// that would is refused below by the covering rule.
	if left := a.key.ExpiresAt.Sub(now); defaultTTL && in.TTL > left {
		in.TTL = left
	}
	if in.Subject == "" {
		in.Subject = c.Subject
	}
	if err := checkText("subject", in.Subject, maxSubjectLen); err != nil {
		return store.Member{}, err
	}
	if in.Subject != c.Subject && !c.tenantAdmin() {
		return store.Member{}, denied("only tenant admins create keys for other members")
	}
	owner, err := a.q.GetMemberBySubject(ctx, c.TenantID, in.Subject)
	if err != nil {
		return store.Member{}, mapStore(err, "member "+in.Subject)
	}
	ceiling := RoleScopes(owner.Role)
	for i, sc := range in.Scopes {
		if !slices.Contains(ceiling, sc) {
			return store.Member{}, deniedf("scopes[%d] %q exceeds what role %s allows", i, sc, RoleName(owner.Role))
		}
	}
	if err := checkTenantLimits(a.tl, in.AllowedModels, in.Limits); err != nil {
		return store.Member{}, err
	}
	nk := store.Key{Subject: in.Subject, Scopes: in.Scopes, AllowedModels: in.AllowedModels, AllowedEndpoints: in.AllowedEndpoints,
		Limits: in.Limits, ExpiresAt: now.Add(in.TTL)}
	if err := Covers(a.grant, keyGrant(nk, owner.Role, a.tl)); err != nil {
		return store.Member{}, fmt.Errorf("the new key would exceed the creating key: %w", err)
	}
	return owner, nil
}

// checkTenantLimits: a key's own limits may only narrow its tenant's.
func checkTenantLimits(tl store.TenantLimits, models []string, l store.Limits) error {
	for _, f := range []struct {
		name      string
		key, tent int64
	}{{"limits.requests_per_minute", l.RPM, tl.RPM}, {"limits.tokens_per_minute", l.TPM, tl.TPM},
		{"limits.monthly_token_budget", l.MonthlyTokens, tl.MonthlyTokens}} {
		if f.tent > 0 && f.key > f.tent {
			return invalid(f.name, "%d exceeds the tenant's limit of %d (a key's limits only narrow the tenant's)", f.key, f.tent)
		}
	}
	if len(tl.AllowedModels) > 0 {
		for i, m := range models {
			if !slices.Contains(tl.AllowedModels, m) {
				return invalid(fmt.Sprintf("allowed_models[%d]", i), "model %q is not allowed to the tenant", truncate(m))
			}
		}
	}
	return nil
}

func checkLimits(l store.Limits) error {
	// Tenant-wide limits are a tenant record (UpdateTenantLimits), not
	// something a key can bring along.
	for _, f := range []struct {
		name string
		v    int64
	}{{"limits.tenant_requests_per_minute", l.TenantRPM}, {"limits.tenant_tokens_per_minute", l.TenantTPM},
		{"limits.tenant_monthly_token_budget", l.TenantMonthlyTokens}, {"limits.tenant_max_concurrent_streams", l.TenantMaxStreams},
		{"limits.platform_max_concurrent_streams", l.PlatformMaxStreams}} {
		if f.v != 0 {
			return invalid(f.name, "tenant limits are set on the tenant (PUT /v1/tenants/{tenant_id}/limits), not on a key")
		}
	}
	for _, f := range []struct {
		name string
		v    int64
	}{{"limits.requests_per_minute", l.RPM}, {"limits.tokens_per_minute", l.TPM}, {"limits.monthly_token_budget", l.MonthlyTokens},
		{"limits.tenant_requests_per_minute", l.TenantRPM}, {"limits.tenant_tokens_per_minute", l.TenantTPM}, {"limits.tenant_monthly_token_budget", l.TenantMonthlyTokens}} {
		if f.v < 0 {
			return invalid(f.name, "must not be negative")
		}
	}
	return nil
}

// newKey generates key material for k (ID, Salt, Hash) and returns the plaintext.
func newKey(k *store.Key) (string, error) {
	gen, err := apikey.Generate()
	if err != nil {
		return "", fmt.Errorf("generate key: %w", err)
	}
	salt, err := apikey.NewSalt()
	if err != nil {
		return "", err
	}
	k.ID, k.Salt, k.Hash = gen.ID, salt, gen.Hash(salt)
	return gen.Plaintext(), nil
}

// CreateKey creates a key for the caller (or, for admins, another member).
func (s *Service) CreateKey(ctx context.Context, c Caller, in CreateKeyInput) (Created, error) {
	var out Created
	err := s.db.Tx(ctx, func(q *store.Queries) error {
		a, err := s.loadAccess(ctx, q, c)
		if err != nil {
			return err
		}
		if _, err := s.checkCreate(ctx, a, &in); err != nil {
			return err
		}
		now := in.now
		k := store.Key{TenantID: c.TenantID, Name: in.Name, Subject: in.Subject, Scopes: in.Scopes,
			AllowedModels: in.AllowedModels, AllowedEndpoints: in.AllowedEndpoints, Limits: in.Limits,
			State: store.KeyActive, CreatedAt: now, ExpiresAt: now.Add(in.TTL), CreatedBy: c.actor()}
		// A key minted by a key with a monthly budget draws from the same
		// budget: minting must not start a fresh one.
		if a.key.Limits.MonthlyTokens > 0 {
			k.BudgetKey = a.key.BudgetPool()
		}
		// Nor a fresh rate: it joins its minter's rate pools (ADR 0076), and
		// its minter's own bucket when that is narrower (ADR 0086), so all
		// keys minted from a limited key share that key's RPM and TPM.
		k.Limits.SetPools(a.key.ChildRequestsPools(), a.key.ChildTokensPools())
		if err := checkPoolDepth(k); err != nil {
			return err
		}
		pt, err := newKey(&k)
		if err != nil {
			return err
		}
		if err := q.InsertKey(ctx, k); err != nil {
			return err
		}
		if err := s.audit(ctx, q, c, c.TenantID, "key.create", "key:"+k.ID, "ok"); err != nil {
			return err
		}
		out = Created{Key: k, Plaintext: pt}
		return nil
	})
	return out, err
}

// checkPoolDepth refuses a key whose own limit would be a level of nested
// limits (its pools and its own narrower bucket) deeper than
// principal.MaxRatePools (ADR 0086): each level is one more bucket charged
// on every call of every key below it, so the depth is bounded. A key at
// the bound may still be made with the narrowest rate above it: it then
// adds no level. Its pools alone never exceed the bound (its minter's
// depth is within it).
func checkPoolDepth(k store.Key) error {
	for _, d := range []struct {
		field string
		pools []store.RatePool
		own   int64
	}{{"limits.requests_per_minute", k.Limits.RPMPools, k.Limits.RPM}, {"limits.tokens_per_minute", k.Limits.TPMPools, k.Limits.TPM}} {
		if len(store.NestPools(d.pools, "", d.own)) > principal.MaxRatePools {
			narrowest := d.pools[len(d.pools)-1].PerMinute
			return invalid(d.field, "narrower limits nest at most %d levels deep (ADR 0086) and this key is made below %d limited keys: "+
				"set it to %d (the narrowest of them, which it then shares) or create the key from a key higher up", principal.MaxRatePools, len(d.pools), narrowest)
		}
	}
	return nil
}

// visibleKey loads a key of the caller's tenant that the caller may see:
// its own subject's keys, and for tenant admins the keys their calling key
// covers. Anything else is NotFound.
func (s *Service) visibleKey(ctx context.Context, a *access, keyID string) (store.Key, error) {
	if !apikey.ValidID(keyID) {
		return store.Key{}, invalid("key_id", "must be %d base62 characters", apikey.IDLen)
	}
	k, err := a.q.GetKey(ctx, a.c.TenantID, keyID)
	if err != nil {
		return store.Key{}, mapStore(err, "key "+keyID)
	}
	ok, err := a.canSee(ctx, k)
	if err != nil {
		return store.Key{}, err
	}
	if !ok {
		return store.Key{}, notFound("key " + keyID)
	}
	return s.withDerivedState(k), nil
}

// withDerivedState reports a live key past its expiry as expired even before
// the sweeper has marked it.
func (s *Service) withDerivedState(k store.Key) store.Key {
	if (k.State == store.KeyActive || k.State == store.KeyRotating) && !s.opt.Now().Before(k.ExpiresAt) {
		k.State = store.KeyExpired
	}
	return k
}

// GetKey returns a key's metadata.
func (s *Service) GetKey(ctx context.Context, c Caller, keyID string) (store.Key, error) {
	a, err := s.loadAccess(ctx, s.db.Q(), c)
	if err != nil {
		return store.Key{}, err
	}
	return s.visibleKey(ctx, a, keyID)
}

// ListKeys lists the keys the caller may see, by key id.
func (s *Service) ListKeys(ctx context.Context, c Caller, after string, limit int) ([]store.Key, error) {
	a, err := s.loadAccess(ctx, s.db.Q(), c)
	if err != nil {
		return nil, err
	}
	subject := c.Subject
	if c.tenantAdmin() {
		subject = ""
	}
	// Filtering may drop keys from a page: read on until the page is full
	// or the keys run out, so page tokens stay exact.
	out := make([]store.Key, 0, limit)
	for len(out) < limit {
		want := limit - len(out)
		ks, err := s.db.Q().ListKeys(ctx, c.TenantID, subject, after, want)
		if err != nil {
			return nil, err
		}
		for _, k := range ks {
			ok, err := a.canSee(ctx, k)
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, s.withDerivedState(k))
			}
		}
		if len(ks) < want {
			break
		}
		after = ks[len(ks)-1].ID
	}
	return out, nil
}

// Rotation is the result of RotateKey.
type Rotation struct {
	New      Created
	Previous store.Key
}

// RotateKey issues a replacement with the same grants; the old key keeps
// working for the overlap (default 14 days) and then fails.
func (s *Service) RotateKey(ctx context.Context, c Caller, keyID string, overlap time.Duration) (Rotation, error) {
	switch {
	case overlap < 0:
		return Rotation{}, invalid("overlap_seconds", "must not be negative")
	case overlap == 0:
		overlap = s.opt.DefaultOverlap
	case overlap > s.opt.MaxTTL:
		return Rotation{}, invalid("overlap_seconds", "must be at most %s", limitText(s.opt.MaxTTL))
	}
	var out Rotation
	err := s.db.Tx(ctx, func(q *store.Queries) error {
		a, err := s.loadAccess(ctx, q, c)
		if err != nil {
			return err
		}
		old, err := s.visibleKey(ctx, a, keyID)
		if err != nil {
			return err
		}
		if err := a.canMutate(ctx, old); err != nil {
			return err
		}
		if old.State != store.KeyActive {
			if old.ReplacedBy != "" {
				// Rotating the old id twice is the usual slip; the caller
				// can see the key, and so its replacement's id.
				return precondition("only an active key can be rotated: this one was rotated already, rotate its replacement " + old.ReplacedBy)
			}
			return precondition("only an active key can be rotated")
		}
		now := s.opt.Now()
		lifetime := old.ExpiresAt.Sub(old.CreatedAt)
		if lifetime <= 0 || lifetime > s.opt.MaxTTL {
			lifetime = s.opt.DefaultTTL
		}
		expires := now.Add(lifetime)
		// A replacement made by another key never outlives that key; a key
		// rotating itself keeps its lifetime (it is the same holder).
		if !a.self(old) && expires.After(a.key.ExpiresAt) {
			expires = a.key.ExpiresAt
		}
		nk := store.Key{TenantID: old.TenantID, Name: old.Name, Subject: old.Subject, Scopes: old.Scopes,
			AllowedModels: old.AllowedModels, AllowedEndpoints: old.AllowedEndpoints, Limits: old.Limits,
			State: store.KeyActive, CreatedAt: now, ExpiresAt: expires, CreatedBy: c.actor(),
			// The replacement keeps counting against the old key's budget.
			BudgetKey: old.BudgetPool()}
		// ... and the old key's rate pools (ADR 0076): during the overlap the
		// two keys share one rate, and so do keys minted from either.
		// A replacement has the old key's limits, so it never nests deeper
		// than the old key (store.NestPools) and is never refused here.
		nk.Limits.SetPools(old.ChildRequestsPools(), old.ChildTokensPools())
		pt, err := newKey(&nk)
		if err != nil {
			return err
		}
		if err := q.InsertKey(ctx, nk); err != nil {
			return err
		}
		old.State = store.KeyRotating
		old.ReplacedBy = nk.ID
		if end := now.Add(overlap); end.Before(old.ExpiresAt) {
			old.ExpiresAt = end
		}
		if err := q.UpdateKeyState(ctx, old); err != nil {
			return err
		}
		if err := s.audit(ctx, q, c, c.TenantID, "key.rotate", "key:"+old.ID, "ok; replaced_by="+nk.ID); err != nil {
			return err
		}
		out = Rotation{New: Created{Key: nk, Plaintext: pt}, Previous: old}
		return nil
	})
	return out, err
}

// RevokeKey revokes a key at once and emits a revocation event. Revoking a
// key that is already revoked or expired changes nothing. With cascade it
// also revokes every live key made with it, transitively (revokeMade),
// also when the key itself was revoked before; their ids are returned in
// the order revoked.
func (s *Service) RevokeKey(ctx context.Context, c Caller, keyID string, cascade bool) (store.Key, []string, error) {
	var out store.Key
	var along []string
	changed := false
	err := s.db.Tx(ctx, func(q *store.Queries) error {
		along = nil
		a, err := s.loadAccess(ctx, q, c)
		if err != nil {
			return err
		}
		k, err := s.visibleKey(ctx, a, keyID)
		if err != nil {
			return err
		}
		if err := a.canMutate(ctx, k); err != nil {
			return err
		}
		out = k
		if k.State == store.KeyActive || k.State == store.KeyRotating {
			now := s.opt.Now()
			role, err := a.role(ctx, k.Subject)
			if err != nil {
				return err
			}
			if ownerCapable(k, role, now) {
				ok, err := ownerKeyRemains(ctx, q, c.TenantID, k.ID, "", now)
				if err != nil {
					return err
				}
				if !ok {
					return errStranded("revoking key " + k.ID)
				}
			}
			if err := s.revokeInTx(ctx, q, c, k, "key.revoke"); err != nil {
				return err
			}
			k.State, k.RevokedAt = store.KeyRevoked, s.opt.Now()
			out, changed = k, true
		}
		if !cascade {
			return nil
		}
		if along, err = s.revokeMade(ctx, q, a, c, k.ID); err != nil {
			return err
		}
		changed = changed || len(along) > 0
		return nil
	})
	if changed && err == nil {
		s.notify()
	}
	if err != nil {
		along = nil
	}
	return out, along, err
}

// revokeMade revokes, in q, every live key made with the key root —
// created or rotated into being by it (created_by "key:<root>/…"), its
// own replacement included — and every key made with those, to the end
// (ADR 0110): whoever held root held what it made. A revocation only
// takes power away, so the caller, who may revoke root, needs no covering
// of each; a revocation that would leave the tenant without an owner key
// refuses the whole call, as revoking that key would.
func (s *Service) revokeMade(ctx context.Context, q *store.Queries, a *access, c Caller, root string) ([]string, error) {
	made, err := q.LiveKeysMintedByKeys(ctx, c.TenantID, "")
	if err != nil {
		return nil, err
	}
	madeBy := map[string][]store.Key{}
	for _, k := range made {
		id, _ := maker(k)
		madeBy[id] = append(madeBy[id], k)
	}
	var along []string
	done := map[string]bool{root: true}
	ownerKey := false
	now := s.opt.Now()
	queue := []string{root}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		for _, k := range madeBy[id] {
			if done[k.ID] {
				continue
			}
			done[k.ID] = true
			role, err := a.role(ctx, k.Subject)
			if err != nil {
				return nil, err
			}
			ownerKey = ownerKey || ownerCapable(k, role, now)
			if err := s.revokeInTx(ctx, q, c, k, "key.revoke.cascade"); err != nil {
				return nil, err
			}
			along = append(along, k.ID)
			queue = append(queue, k.ID)
		}
	}
	if ownerKey {
		ok, err := ownerKeyRemains(ctx, q, c.TenantID, "", "", now)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errStranded("revoking key " + root + " with the keys made with it")
		}
	}
	return along, nil
}

func (s *Service) revokeInTx(ctx context.Context, q *store.Queries, c Caller, k store.Key, action string) error {
	k.State, k.RevokedAt = store.KeyRevoked, s.opt.Now()
	if err := q.UpdateKeyState(ctx, k); err != nil {
		return err
	}
	if err := s.event(ctx, q, store.EventKeyRevoked, k.TenantID, k.ID); err != nil {
		return err
	}
	return s.audit(ctx, q, c, k.TenantID, action, "key:"+k.ID, "ok")
}
