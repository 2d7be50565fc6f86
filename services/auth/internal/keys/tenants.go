package keys

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/services/auth/internal/store"
)

func newID(prefix string) (string, error) {
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate id: %w", err)
	}
	return prefix + hex.EncodeToString(b), nil
}

// TenantCreated is the result of CreateTenant / Bootstrap.
type TenantCreated struct {
	Tenant   store.Tenant
	OwnerKey *Created // set when an owner was named
}

// createTenantInTx creates a tenant and optionally its owner member and an
// owner key with scope admin.
func (s *Service) createTenantInTx(ctx context.Context, q *store.Queries, c Caller, name, ownerSubject string) (TenantCreated, error) {
	now := s.opt.Now()
	id, err := newID("t_")
	if err != nil {
		return TenantCreated{}, err
	}
	t := store.Tenant{ID: id, Name: name, State: store.TenantActive, CreatedAt: now, UpdatedAt: now}
	if err := q.InsertTenant(ctx, t); err != nil {
		return TenantCreated{}, err
	}
	if err := s.event(ctx, q, store.EventTenantCreated, id, ""); err != nil {
		return TenantCreated{}, err
	}
	if err := s.audit(ctx, q, c, id, "tenant.create", "tenant:"+id, "ok"); err != nil {
		return TenantCreated{}, err
	}
	out := TenantCreated{Tenant: t}
	if ownerSubject == "" {
		return out, nil
	}
	mid, err := newID("m_")
	if err != nil {
		return TenantCreated{}, err
	}
	m := store.Member{ID: mid, TenantID: id, Subject: ownerSubject, Kind: store.MemberUser, Role: store.RoleOwner, CreatedAt: now, UpdatedAt: now}
	if err := q.InsertMember(ctx, m); err != nil {
		return TenantCreated{}, err
	}
	if err := s.audit(ctx, q, c, id, "member.create", "member:"+mid, "ok; role=owner"); err != nil {
		return TenantCreated{}, err
	}
	k := store.Key{TenantID: id, Name: "owner key", Subject: ownerSubject, Scopes: []string{ScopeAdmin},
		State: store.KeyActive, CreatedAt: now, ExpiresAt: now.Add(s.opt.DefaultTTL), CreatedBy: c.actor()}
	pt, err := newKey(&k)
	if err != nil {
		return TenantCreated{}, err
	}
	if err := q.InsertKey(ctx, k); err != nil {
		return TenantCreated{}, err
	}
	if err := s.audit(ctx, q, c, id, "key.create", "key:"+k.ID, "ok"); err != nil {
		return TenantCreated{}, err
	}
	out.OwnerKey = &Created{Key: k, Plaintext: pt}
	return out, nil
}

// Bootstrap creates the platform tenant, its owner and an owner key with
// scope admin. It succeeds only while no tenant has ever existed.
func (s *Service) Bootstrap(ctx context.Context, c Caller, tenantName, ownerSubject string) (TenantCreated, error) {
	if err := checkText("tenant_name", tenantName, maxNameLen); err != nil {
		return TenantCreated{}, err
	}
	if err := checkText("owner_subject", ownerSubject, maxSubjectLen); err != nil {
		return TenantCreated{}, err
	}
	var out TenantCreated
	err := s.db.Tx(ctx, func(q *store.Queries) error {
		n, err := q.CountTenants(ctx)
		if err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: already bootstrapped", ErrAlreadyExists)
		}
		out, err = s.createTenantInTx(ctx, q, c, tenantName, ownerSubject)
		if err != nil {
			return err
		}
		if err := q.SetMeta(ctx, metaPlatformTenant, out.Tenant.ID); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return fmt.Errorf("%w: already bootstrapped", ErrAlreadyExists)
			}
			return err
		}
		return nil
	})
	if err != nil {
		return TenantCreated{}, err
	}
	id := out.Tenant.ID
	s.platform.Store(&id)
	s.notify()
	return out, nil
}

// CreateTenant creates a tenant (platform admin only).
func (s *Service) CreateTenant(ctx context.Context, c Caller, name, ownerSubject string) (TenantCreated, error) {
	if !s.IsPlatformAdmin(ctx, c) {
		return TenantCreated{}, denied("only the platform admin creates tenants")
	}
	if err := checkText("name", name, maxNameLen); err != nil {
		return TenantCreated{}, err
	}
	if ownerSubject != "" {
		if err := checkText("owner_subject", ownerSubject, maxSubjectLen); err != nil {
			return TenantCreated{}, err
		}
	}
	var out TenantCreated
	err := s.db.Tx(ctx, func(q *store.Queries) error {
		var err error
		out, err = s.createTenantInTx(ctx, q, c, name, ownerSubject)
		return err
	})
	if err == nil {
		s.notify()
	}
	return out, err
}

// GetTenant returns a tenant: the platform admin sees all, others only
// their own (anything else is NotFound).
func (s *Service) GetTenant(ctx context.Context, c Caller, id string) (store.Tenant, error) {
	if id == "" {
		return store.Tenant{}, invalid("tenant_id", "required")
	}
	if id != c.TenantID && !s.IsPlatformAdmin(ctx, c) {
		return store.Tenant{}, notFound("tenant " + id)
	}
	t, err := s.db.Q().GetTenant(ctx, id)
	return t, mapStore(err, "tenant "+id)
}

// TenantLimits reads a tenant's stored limits with no caller: the
// principal-less GetTenantLimits, which the mTLS allow-list opens to
// inference's identity alone (ADR 0106 §2). An unknown or purged tenant is
// NotFound; a suspended or deleted one is refused with a
// *grpcerr.TenantNotActiveError (FailedPrecondition, ErrorInfo reason
// TENANT_SUSPENDED or TENANT_DELETED): no background job of a tenant that
// is not active may be charged, so none runs (ADR 0115).
func (s *Service) TenantLimits(ctx context.Context, id string) (store.TenantLimits, error) {
	if id == "" {
		return store.TenantLimits{}, invalid("tenant_id", "required")
	}
	t, err := s.db.Q().GetTenant(ctx, id)
	if err != nil {
		return store.TenantLimits{}, mapStore(err, "tenant "+id)
	}
	switch t.State {
	case store.TenantActive:
		return t.Limits, nil
	case store.TenantSuspended:
		return store.TenantLimits{}, &grpcerr.TenantNotActiveError{Reason: grpcerr.ReasonTenantSuspended}
	default:
		return store.TenantLimits{}, &grpcerr.TenantNotActiveError{Reason: grpcerr.ReasonTenantDeleted}
	}
}

// ListTenants lists the tenants visible to the caller.
func (s *Service) ListTenants(ctx context.Context, c Caller, after string, limit int) ([]store.Tenant, error) {
	if !s.IsPlatformAdmin(ctx, c) {
		if after >= c.TenantID {
			return nil, nil
		}
		t, err := s.db.Q().GetTenant(ctx, c.TenantID)
		if err != nil {
			return nil, mapStore(err, "tenant")
		}
		return []store.Tenant{t}, nil
	}
	return s.db.Q().ListTenants(ctx, after, limit)
}

// tenantTransition changes a tenant's state (platform admin only).
func (s *Service) tenantTransition(ctx context.Context, c Caller, id, action string, apply func(*store.Tenant) (string, error)) (store.Tenant, error) {
	if id == "" {
		return store.Tenant{}, invalid("tenant_id", "required")
	}
	if !s.IsPlatformAdmin(ctx, c) {
		if id != c.TenantID {
			return store.Tenant{}, notFound("tenant " + id)
		}
		return store.Tenant{}, denied("only the platform admin changes a tenant's state")
	}
	if pt, _ := s.platformTenant(ctx); id == pt {
		return store.Tenant{}, precondition("the platform tenant cannot be suspended or deleted")
	}
	var out store.Tenant
	err := s.db.Tx(ctx, func(q *store.Queries) error {
		t, err := q.GetTenant(ctx, id)
		if err != nil {
			return mapStore(err, "tenant "+id)
		}
		kind, err := apply(&t)
		if err != nil {
			return err
		}
		t.UpdatedAt = s.opt.Now()
		if err := q.UpdateTenant(ctx, t); err != nil {
			return err
		}
		if err := s.event(ctx, q, kind, id, ""); err != nil {
			return err
		}
		if err := s.audit(ctx, q, c, id, action, "tenant:"+id, "ok"); err != nil {
			return err
		}
		out = t
		return nil
	})
	if err == nil {
		s.notify()
	}
	return out, err
}

// SuspendTenant makes every key of the tenant fail at once.
func (s *Service) SuspendTenant(ctx context.Context, c Caller, id string) (store.Tenant, error) {
	return s.tenantTransition(ctx, c, id, "tenant.suspend", func(t *store.Tenant) (string, error) {
		if t.State != store.TenantActive {
			return "", precondition("only an active tenant can be suspended")
		}
		t.State = store.TenantSuspended
		return store.EventTenantSuspended, nil
	})
}

// ResumeTenant lifts a suspension.
func (s *Service) ResumeTenant(ctx context.Context, c Caller, id string) (store.Tenant, error) {
	return s.tenantTransition(ctx, c, id, "tenant.resume", func(t *store.Tenant) (string, error) {
		if t.State != store.TenantSuspended {
			return "", precondition("only a suspended tenant can be resumed")
		}
		t.State = store.TenantActive
		return store.EventTenantResumed, nil
	})
}

// DeleteTenant soft-deletes a tenant; the sweeper purges it after the grace period.
func (s *Service) DeleteTenant(ctx context.Context, c Caller, id string) (store.Tenant, error) {
	return s.tenantTransition(ctx, c, id, "tenant.delete", func(t *store.Tenant) (string, error) {
		if t.State == store.TenantDeleted {
			return "", precondition("tenant is already deleted")
		}
		now := s.opt.Now()
		t.State, t.DeletedAt, t.PurgeAt = store.TenantDeleted, now, now.Add(s.opt.TenantGrace)
		return store.EventTenantDeleted, nil
	})
}
