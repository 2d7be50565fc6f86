package keys

import (
	"context"
	"errors"
	"fmt"

	"github.com/rampart-platform/rampart/services/auth/internal/store"
)

// OwnerRecovered is the result of RecoverOwner.
type OwnerRecovered struct {
	Subject string
	Key     Created
}

// RecoverOwner gives tenant id an owner again and mints an owner key
// (scope admin) for it: the platform operator's way back for a tenant whose
// owner keys are all gone. c is the operator (the CLI's mTLS identity; the
// server admits no one else). With subject empty the longest-standing owner
// gets the key; a named subject is made owner (added if it is not a
// member). It is recorded in the tenant's audit chain and in the platform
// chain.
func (s *Service) RecoverOwner(ctx context.Context, c Caller, id, subject string) (OwnerRecovered, error) {
	if id == "" {
		return OwnerRecovered{}, invalid("tenant_id", "required")
	}
	if subject != "" {
		if err := checkText("subject", subject, maxSubjectLen); err != nil {
			return OwnerRecovered{}, err
		}
	}
	var out OwnerRecovered
	err := s.db.Tx(ctx, func(q *store.Queries) error {
		t, err := q.GetTenant(ctx, id)
		if err != nil {
			return mapStore(err, "tenant "+id)
		}
		if t.State == store.TenantDeleted {
			return precondition("the tenant is deleted")
		}
		now := s.opt.Now()
		m, err := s.recoveryMember(ctx, q, c, id, subject)
		if err != nil {
			return err
		}
		k := store.Key{TenantID: id, Name: "recovered owner key", Subject: m.Subject, Scopes: []string{ScopeAdmin},
			State: store.KeyActive, CreatedAt: now, ExpiresAt: now.Add(s.opt.DefaultTTL), CreatedBy: c.actor()}
		pt, err := newKey(&k)
		if err != nil {
			return err
		}
		if err := q.InsertKey(ctx, k); err != nil {
			return err
		}
		result := fmt.Sprintf("ok; subject=%s key=%s", m.Subject, k.ID)
		if err := s.audit(ctx, q, c, id, "tenant.recover_owner", "key:"+k.ID, result); err != nil {
			return err
		}
		// The platform chain records it too: a tenant's own admins could
		// otherwise be the only ones to see that the operator stepped in.
		if err := s.audit(ctx, q, c, "", "tenant.recover_owner", "tenant:"+id, result); err != nil {
			return err
		}
		out = OwnerRecovered{Subject: m.Subject, Key: Created{Key: k, Plaintext: pt}}
		return nil
	})
	return out, err
}

// recoveryMember finds or makes the owner who receives the recovered key.
func (s *Service) recoveryMember(ctx context.Context, q *store.Queries, c Caller, tenantID, subject string) (store.Member, error) {
	now := s.opt.Now()
	if subject == "" {
		ms, err := q.ListMembers(ctx, tenantID, "", 10000)
		if err != nil {
			return store.Member{}, err
		}
		var first *store.Member
		for i, m := range ms {
			if m.Role == store.RoleOwner && m.Kind == store.MemberUser && (first == nil || m.CreatedAt.Before(first.CreatedAt)) {
				first = &ms[i]
			}
		}
		if first == nil {
			return store.Member{}, invalid("subject", "the tenant has no owner left; name the subject who becomes owner")
		}
		return *first, nil
	}
	m, err := q.GetMemberBySubject(ctx, tenantID, subject)
	switch {
	case errors.Is(err, store.ErrNotFound):
		mid, err := newID("m_")
		if err != nil {
			return store.Member{}, err
		}
		m = store.Member{ID: mid, TenantID: tenantID, Subject: subject, Kind: store.MemberUser, Role: store.RoleOwner, CreatedAt: now, UpdatedAt: now}
		if err := q.InsertMember(ctx, m); err != nil {
			return store.Member{}, err
		}
		return m, s.audit(ctx, q, c, tenantID, "member.create", "member:"+mid, "ok; role=owner (owner recovery)")
	case err != nil:
		return store.Member{}, err
	case m.Role != store.RoleOwner:
		if err := q.UpdateMemberRole(ctx, tenantID, m.ID, store.RoleOwner, now); err != nil {
			return store.Member{}, err
		}
		m.Role, m.UpdatedAt = store.RoleOwner, now
		return m, s.audit(ctx, q, c, tenantID, "member.update", "member:"+m.ID, "ok; role=owner (owner recovery)")
	}
	return m, nil
}
