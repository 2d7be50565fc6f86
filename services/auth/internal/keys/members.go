package keys

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/rampart-platform/rampart/services/auth/internal/store"
)

func checkRole(field string, r store.Role) error {
	if r < store.RoleOwner || r > store.RoleViewer {
		return invalid(field, "must be one of ROLE_OWNER, ROLE_ADMIN, ROLE_MEMBER, ROLE_VIEWER")
	}
	return nil
}

// canGrant: only owners grant owner; admins grant up to admin.
func canGrant(c Caller, r store.Role) error {
	if !c.tenantAdmin() {
		return denied("only tenant admins manage members")
	}
	if r == store.RoleOwner && c.Role != store.RoleOwner {
		return denied("only owners grant or remove the owner role")
	}
	return nil
}

// CreateMember adds a user or service account to the caller's tenant.
func (s *Service) CreateMember(ctx context.Context, c Caller, subject string, kind store.MemberKind, role store.Role) (store.Member, error) {
	if !c.tenantAdmin() {
		return store.Member{}, denied("only tenant admins manage members")
	}
	if err := checkText("subject", subject, maxSubjectLen); err != nil {
		return store.Member{}, err
	}
	if kind == 0 {
		kind = store.MemberUser
	}
	if kind != store.MemberUser && kind != store.MemberServiceAccount {
		return store.Member{}, invalid("kind", "must be MEMBER_KIND_USER or MEMBER_KIND_SERVICE_ACCOUNT")
	}
	if err := checkRole("role", role); err != nil {
		return store.Member{}, err
	}
	if err := canGrant(c, role); err != nil {
		return store.Member{}, err
	}
	id, err := newID("m_")
	if err != nil {
		return store.Member{}, err
	}
	now := s.opt.Now()
	m := store.Member{ID: id, TenantID: c.TenantID, Subject: subject, Kind: kind, Role: role, CreatedAt: now, UpdatedAt: now}
	err = s.db.Tx(ctx, func(q *store.Queries) error {
		if err := q.InsertMember(ctx, m); err != nil {
			return mapStore(err, "member with subject "+subject)
		}
		return s.audit(ctx, q, c, c.TenantID, "member.create", "member:"+id, "ok; role="+RoleName(role))
	})
	return m, err
}

// GetMember returns a member of the caller's tenant.
func (s *Service) GetMember(ctx context.Context, c Caller, id string) (store.Member, error) {
	if id == "" {
		return store.Member{}, invalid("member_id", "required")
	}
	m, err := s.db.Q().GetMember(ctx, c.TenantID, id)
	return m, mapStore(err, "member "+id)
}

// ListMembers lists the caller's tenant's members.
func (s *Service) ListMembers(ctx context.Context, c Caller, after string, limit int) ([]store.Member, error) {
	return s.db.Q().ListMembers(ctx, c.TenantID, after, limit)
}

// UpdateMember changes a member's role. The last owner cannot be demoted.
func (s *Service) UpdateMember(ctx context.Context, c Caller, id string, role store.Role) (store.Member, error) {
	if id == "" {
		return store.Member{}, invalid("member_id", "required")
	}
	if err := checkRole("role", role); err != nil {
		return store.Member{}, err
	}
	var out store.Member
	changed := false
	err := s.db.Tx(ctx, func(q *store.Queries) error {
		m, err := q.GetMember(ctx, c.TenantID, id)
		if err != nil {
			return mapStore(err, "member "+id)
		}
		if err := canGrant(c, role); err != nil {
			return err
		}
		if err := canGrant(c, m.Role); err != nil {
			return err
		}
		if m.Role == store.RoleOwner && role != store.RoleOwner {
			if err := s.keepsOwner(ctx, q, c.TenantID, m.Subject, "demoting "+m.Subject); err != nil {
				return err
			}
		}
		now := s.opt.Now()
		if err := q.UpdateMemberRole(ctx, c.TenantID, id, role, now); err != nil {
			return err
		}
		if m.Role != role {
			// The edge caches a verified key for up to 30 s: tell it to
			// verify the subject's keys again, so a demotion binds at the
			// edge as fast as a revocation does.
			if changed, err = s.keysChanged(ctx, q, c.TenantID, m.Subject); err != nil {
				return err
			}
		}
		if m.Role != role {
			revoked, err := s.revokeMinted(ctx, q, c, m.Subject)
			if err != nil {
				return err
			}
			changed = changed || revoked
		}
		if role == store.RoleViewer && m.Role != store.RoleViewer {
			// A viewer writes nothing: the grants she gave for writing
			// (her data-source connections) are dropped (ADR 0132 §1).
			if err := s.event(ctx, q, store.EventMemberReadOnly, c.TenantID, m.ID); err != nil {
				return err
			}
			changed = true
		}
		m.Role, m.UpdatedAt = role, now
		out = m
		return s.audit(ctx, q, c, c.TenantID, "member.update", "member:"+id, "ok; role="+RoleName(role))
	})
	if changed && err == nil {
		s.notify()
	}
	return out, err
}

// keysChanged appends a key-changed event for every live key of subject and
// reports whether there was any.
func (s *Service) keysChanged(ctx context.Context, q *store.Queries, tenantID, subject string) (bool, error) {
	ks, err := q.LiveKeysOfSubject(ctx, tenantID, subject)
	if err != nil {
		return false, err
	}
	for _, k := range ks {
		if err := s.event(ctx, q, store.EventKeyChanged, tenantID, k.ID); err != nil {
			return false, err
		}
	}
	return len(ks) > 0, nil
}

// keepsOwner refuses a change that takes the owner role from subject when
// no other owner would remain, or none with a live owner key: either would
// strand the tenant.
func (s *Service) keepsOwner(ctx context.Context, q *store.Queries, tenantID, subject, what string) error {
	n, err := q.CountOwners(ctx, tenantID)
	if err != nil {
		return err
	}
	if n <= 1 {
		return precondition("a tenant must keep at least one owner")
	}
	ok, err := ownerKeyRemains(ctx, q, tenantID, "", subject, s.opt.Now())
	if err != nil {
		return err
	}
	if !ok {
		return errStranded(what)
	}
	return nil
}

// DeleteMember removes a member and revokes every live key it owns.
func (s *Service) DeleteMember(ctx context.Context, c Caller, id string) error {
	if id == "" {
		return invalid("member_id", "required")
	}
	revoked := false
	err := s.db.Tx(ctx, func(q *store.Queries) error {
		m, err := q.GetMember(ctx, c.TenantID, id)
		if err != nil {
			return mapStore(err, "member "+id)
		}
		if err := canGrant(c, m.Role); err != nil {
			return err
		}
		if m.Role == store.RoleOwner {
			if err := s.keepsOwner(ctx, q, c.TenantID, m.Subject, "removing "+m.Subject); err != nil {
				return err
			}
		}
		keys, err := q.LiveKeysOfSubject(ctx, c.TenantID, m.Subject)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if err := s.revokeInTx(ctx, q, c, k, "key.revoke"); err != nil {
				return err
			}
			revoked = true
		}
		if err := q.DeleteMember(ctx, c.TenantID, id); err != nil {
			return err
		}
		if _, err := s.revokeMinted(ctx, q, c, m.Subject); err != nil {
			return err
		}
		// Services drop what they hold for her: ingestion deletes her
		// data-source grants' tokens (ADR 0132 §1). In the transaction, so
		// a removal is never committed without it.
		if err := s.event(ctx, q, store.EventMemberRemoved, c.TenantID, m.ID); err != nil {
			return err
		}
		revoked = true // an event was appended: wake the watchers
		return s.audit(ctx, q, c, c.TenantID, "member.delete", "member:"+id, "ok")
	})
	if revoked && err == nil {
		s.notify()
	}
	if errors.Is(err, store.ErrNotFound) {
		return notFound("member " + id)
	}
	return err
}

// minter is the subject whose key created k, or rotated it into being
// (created_by "key:<key id>/<subject>"; key ids hold no "/"); "" when no
// key made it (bootstrap, owner recovery).
func minter(k store.Key) string {
	_, by := maker(k)
	return by
}

// maker splits k's created_by into the key that made k and that key's
// subject; both "" when no key made it.
func maker(k store.Key) (keyID, subject string) {
	rest, ok := strings.CutPrefix(k.CreatedBy, "key:")
	if !ok {
		return "", ""
	}
	keyID, subject, _ = strings.Cut(rest, "/")
	return keyID, subject
}

// revokeMinted runs after subject's role changed (or subject was removed)
// in the transaction q. Whoever minted a key for another subject — created
// it, or rotated it and so got the new plaintext — holds it, so the rule
// "a key never gets more than its creator has" must hold after role
// changes too, not only at creation (ADR 0069 §1): a key of another subject
// stays live only while its minter is a member, its subject's role is not
// stronger than its minter's, and its scopes are within the minter's role
// ceiling. This checks the keys subject minted (its demotion or removal)
// and subject's own keys others minted (its promotion), and revokes those
// that fail. The minter holds such a key's plaintext and so could have made
// keys with it — rotated it with itself, minted more of its subject's keys
// — so every key made by a revoked key, transitively, is checked against
// the same minter and revoked likewise (ADR 0078 §1); keys a holder made
// with a key nobody else minted for her, or an admin who stays rotated for
// her, are hers. A revocation that would leave the tenant without an owner
// key refuses the change. It reports whether it revoked any.
func (s *Service) revokeMinted(ctx context.Context, q *store.Queries, c Caller, subject string) (bool, error) {
	minted, err := q.LiveKeysMintedByKeys(ctx, c.TenantID, "")
	if err != nil {
		return false, err
	}
	own, err := q.LiveKeysOfSubject(ctx, c.TenantID, subject)
	if err != nil {
		return false, err
	}
	r := &mintRevoker{s: s, q: q, c: c, roles: map[string]store.Role{}, madeBy: map[string][]store.Key{}, done: map[string]bool{}}
	for _, k := range minted {
		id, _ := maker(k)
		r.madeBy[id] = append(r.madeBy[id], k)
	}
	for _, k := range append(minted, own...) {
		by := minter(k)
		if by == "" || (by != subject && k.Subject != subject) {
			continue
		}
		if err := r.check(ctx, k, by); err != nil {
			return false, err
		}
	}
	if r.ownerKey {
		ok, err := ownerKeyRemains(ctx, q, c.TenantID, "", "", s.opt.Now())
		if err != nil {
			return false, err
		}
		if !ok {
			return false, errStranded("the change (it revokes owner keys minted by someone whose role no longer covers them)")
		}
	}
	return r.revoked, nil
}

// mintRevoker is one revokeMinted pass: the tenant's key-made live keys by
// the key that made them, roles read once, the keys already revoked.
type mintRevoker struct {
	s        *Service
	q        *store.Queries
	c        Caller
	roles    map[string]store.Role
	madeBy   map[string][]store.Key
	done     map[string]bool
	revoked  bool
	ownerKey bool
}

func (r *mintRevoker) roleOf(ctx context.Context, sub string) (store.Role, error) {
	if role, ok := r.roles[sub]; ok {
		return role, nil
	}
	m, err := r.q.GetMemberBySubject(ctx, r.c.TenantID, sub)
	if errors.Is(err, store.ErrNotFound) {
		r.roles[sub] = 0
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	r.roles[sub] = m.Role
	return m.Role, nil
}

// check revokes k, a key by may hold, unless k is by's own or by's current
// role covers it; then it checks the keys k made against by too.
func (r *mintRevoker) check(ctx context.Context, k store.Key, by string) error {
	if r.done[k.ID] || by == k.Subject {
		return nil
	}
	holder, err := r.roleOf(ctx, k.Subject)
	if err != nil || holder == 0 {
		return err // no member: the key does not verify anyway
	}
	byRole, err := r.roleOf(ctx, by)
	if err != nil {
		return err
	}
	ceiling := RoleScopes(byRole)
	if byRole != 0 && holder >= byRole && !slices.ContainsFunc(k.Scopes, func(sc string) bool { return !slices.Contains(ceiling, sc) }) {
		return nil
	}
	r.ownerKey = r.ownerKey || ownerCapable(k, holder, r.s.opt.Now())
	if err := r.s.revokeInTx(ctx, r.q, r.c, k, "key.revoke.creator_narrowed"); err != nil {
		return err
	}
	r.done[k.ID], r.revoked = true, true
	for _, child := range r.madeBy[k.ID] {
		if err := r.check(ctx, child, by); err != nil {
			return err
		}
	}
	return nil
}
