package vault

import (
	"context"
	"errors"

	"github.com/rampart-platform/rampart/services/keyvault/internal/audit"
	"github.com/rampart-platform/rampart/services/keyvault/internal/policy"
	"github.com/rampart-platform/rampart/services/keyvault/internal/store"
)

// DeleteServiceSecret deletes at once, without a recovery window, the
// secret name of tenant for the service a.Caller (its mTLS identity),
// which must own it: by its name's prefix ("/<env>/<service>/…") and, when
// recorded, as its creator. No principal: a service drops a credential it
// holds for a tenant that is not calling (ingestion, the data-source grant
// of a member removed from the tenant, ADR 0132 §1). It reads nothing and
// returns nothing of the secret; false when the tenant has no such secret.
// Audited under the service.
func (s *Service) DeleteServiceSecret(ctx context.Context, a Actor, tenant, name string) (bool, error) {
	if err := validTenantID(tenant); err != nil {
		return false, err
	}
	name, err := CanonicalName(name)
	if err != nil {
		return false, err
	}
	a.Tenant = tenant
	if a.Caller == "" || policy.Owner(name) != a.Caller {
		s.o.Metrics.denied("DeleteServiceSecret")
		return false, s.auditFailure(ctx, a, "DeleteServiceSecret", name,
			&Error{Kind: KindPermissionDenied, Msg: "a service deletes only the secrets its own name prefix holds"})
	}
	deleted := false
	err = s.o.Store.InTx(ctx, func(tx *store.Tx) error {
		sec, err := tx.SecretByName(ctx, tenant, name)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return internal(err)
		}
		if err := s.checkOwner(ctx, a, policy.ActionDelete, sec); err != nil {
			return err
		}
		if err := tx.DeleteSecret(ctx, tenant, sec.ID); err != nil {
			return internal(err)
		}
		deleted = true
		return s.record(ctx, a, audit.Record{Action: "DeleteServiceSecret", Name: name, Result: audit.ResultOK,
			Detail: "deleted at once (no recovery window)"})
	})
	if err != nil {
		return false, s.auditFailure(ctx, a, "DeleteServiceSecret", name, err)
	}
	return deleted, nil
}
