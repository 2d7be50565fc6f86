package keys

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/rampart-platform/rampart/services/auth/internal/store"
)

// access is what one management call knows about its caller, loaded from
// the store inside the call's transaction (the assertion may be up to the
// cache TTL old; the store is not).
type access struct {
	c     Caller
	key   store.Key // the calling key
	grant Grant     // the calling key's effective grant
	tl    store.TenantLimits
	roles map[string]store.Role // subject → current role (0: gone)
	q     *store.Queries
}

// loadAccess reads the caller's key, role and tenant limits. A caller
// without a key (the system, the operator CLI) never comes through here.
func (s *Service) loadAccess(ctx context.Context, q *store.Queries, c Caller) (*access, error) {
	if c.KeyID == "" || c.TenantID == "" {
		return nil, denied("key management needs an API key")
	}
	k, err := q.GetKey(ctx, c.TenantID, c.KeyID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, denied("the calling key no longer exists")
		}
		return nil, err
	}
	tl, err := s.tenantLimits(ctx, q, c.TenantID)
	if err != nil {
		return nil, err
	}
	a := &access{c: c, key: k, tl: tl, roles: map[string]store.Role{}, q: q}
	role, err := a.role(ctx, c.Subject)
	if err != nil {
		return nil, err
	}
	a.grant = keyGrant(k, role, tl)
	// The caller acts with its effective scopes: the key's, within its
	// subject's current role.
	a.grant.Scopes = effectiveScopes(k.Scopes, role)
	return a, nil
}

// tenantLimits returns the tenant's limits.
func (s *Service) tenantLimits(ctx context.Context, q *store.Queries, tenantID string) (store.TenantLimits, error) {
	t, err := q.GetTenant(ctx, tenantID)
	if err != nil {
		return store.TenantLimits{}, mapStore(err, "tenant "+tenantID)
	}
	return t.Limits, nil
}

// role is the current role of subject in the caller's tenant, 0 if it is
// not a member.
func (a *access) role(ctx context.Context, subject string) (store.Role, error) {
	if r, ok := a.roles[subject]; ok {
		return r, nil
	}
	m, err := a.q.GetMemberBySubject(ctx, a.c.TenantID, subject)
	switch {
	case errors.Is(err, store.ErrNotFound):
		a.roles[subject] = 0
		return 0, nil
	case err != nil:
		return 0, err
	}
	a.roles[subject] = m.Role
	return m.Role, nil
}

// targetGrant is the grant of another key of the tenant.
func (a *access) targetGrant(ctx context.Context, k store.Key) (Grant, error) {
	r, err := a.role(ctx, k.Subject)
	if err != nil {
		return Grant{}, err
	}
	return keyGrant(k, r, a.tl), nil
}

// self reports whether k is the calling key or, for keyvault only, the key
// that replaced it in a rotation (keyvault's crash recovery rotates that one
// acting as the predecessor, see ADR 0009). Both carry exactly the caller's
// grant. For anyone else the rotated-out key is another key: a leaked key
// its holder rotated must not rotate (with a full lifetime) or revoke the
// holder's new key (ADR 0078 §3).
func (a *access) self(k store.Key) bool {
	return k.ID == a.key.ID || (a.c.ActsAsPredecessor && a.key.ReplacedBy != "" && k.ID == a.key.ReplacedBy)
}

// canSee: a key's metadata is visible to its own subject, and to a tenant
// admin whose key covers it.
func (a *access) canSee(ctx context.Context, k store.Key) (bool, error) {
	if k.Subject == a.c.Subject {
		return true, nil
	}
	if !a.c.tenantAdmin() {
		return false, nil
	}
	g, err := a.targetGrant(ctx, k)
	if err != nil {
		return false, err
	}
	return Covers(a.grant, g) == nil, nil
}

// canMutate: rotating or revoking k needs keys:write (or admin) and a
// calling key that covers k, except for the calling key itself (and, for
// keyvault, its replacement: see self), which may always rotate or revoke
// itself: that grants nothing new.
func (a *access) canMutate(ctx context.Context, k store.Key) error {
	if a.c.Role == store.RoleViewer || a.c.Role == 0 {
		return denied("viewers cannot change keys")
	}
	if a.self(k) {
		return nil
	}
	if !hasScope(a.grant.Scopes, ScopeKeysWrite) {
		return denied("changing another key needs the keys:write or admin scope")
	}
	if k.Subject != a.c.Subject && !a.c.tenantAdmin() {
		return notFound("key " + k.ID)
	}
	g, err := a.targetGrant(ctx, k)
	if err != nil {
		return err
	}
	return Covers(a.grant, g)
}

// ownerCapable: a live key of an owner holding scope admin — a key that can
// manage the tenant, including its owners.
func ownerCapable(k store.Key, role store.Role, now time.Time) bool {
	return role == store.RoleOwner && (k.State == store.KeyActive || k.State == store.KeyRotating) &&
		now.Before(k.ExpiresAt) && slices.Contains(k.Scopes, ScopeAdmin)
}

// ownerKeyRemains reports whether the tenant keeps an owner-capable key
// when the key exceptKey is gone and the subject exceptSubject is no
// longer an owner (either may be empty).
func ownerKeyRemains(ctx context.Context, q *store.Queries, tenantID, exceptKey, exceptSubject string, now time.Time) (bool, error) {
	ks, err := q.LiveKeysOfRole(ctx, tenantID, store.RoleOwner)
	if err != nil {
		return false, err
	}
	for _, k := range ks {
		if k.ID != exceptKey && k.Subject != exceptSubject && ownerCapable(k, store.RoleOwner, now) {
			return true, nil
		}
	}
	return false, nil
}

func errStranded(what string) error {
	return fmt.Errorf("%w: %s would leave the tenant without an owner key (an owner's live key with scope admin); "+
		"create another owner key first, or ask the platform operator to run `rampart tenant recover-owner`", ErrPrecondition, what)
}
