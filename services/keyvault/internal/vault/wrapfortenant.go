package vault

import (
	"context"
	"errors"
	"maps"

	"github.com/rampart-platform/rampart/services/keyvault/internal/audit"
	"github.com/rampart-platform/rampart/services/keyvault/internal/kms"
)

// WrapMarker is the encryption-context key WrapForTenant adds to every key
// it makes (value "1"). Decrypt needs the same context, so a key made
// without a principal of the tenant never passes for one a principal made
// with GenerateDataKey for the same purpose: a service cannot plant it as
// a tenant's data key under which later calls of the tenant would seal.
const WrapMarker = "rampart_wrap_for_tenant"

// WrapForTenant makes a fresh data key for tenant, wrapped under the
// tenant's current KEK and bound to encCtx plus WrapMarker, for a service
// that seals without a call of the tenant (ADR 0077). It is encrypt-only:
// it never unwraps a key that exists, so the caller can read nothing the
// tenant stored; what it seals opens only through Decrypt on a principal
// of the tenant. a carries the calling service (mTLS) and request id; its
// tenant is the one named. Every call is audited; a shredded tenant gets
// FailedPrecondition and no key.
func (s *Service) WrapForTenant(ctx context.Context, a Actor, tenant string, encCtx map[string]string) (kms.DataKey, map[string]string, error) {
	if err := validTenantID(tenant); err != nil {
		return kms.DataKey{}, nil, err
	}
	if err := validContext("encryption_context", encCtx); err != nil {
		return kms.DataKey{}, nil, err
	}
	if _, ok := encCtx[WrapMarker]; ok {
		return kms.DataKey{}, nil, invalid("encryption_context", "%q is added by keyvault", WrapMarker)
	}
	if len(encCtx) >= 16 {
		return kms.DataKey{}, nil, invalid("encryption_context", "at most 15 entries (keyvault adds one)")
	}
	if a.Caller == "" {
		return kms.DataKey{}, nil, &Error{Kind: KindPermissionDenied, Msg: "no calling service"}
	}
	a.Tenant, a.Subject, a.KeyID, a.Roles, a.Scopes = tenant, "", "", nil, nil
	bound := maps.Clone(encCtx)
	if bound == nil {
		bound = map[string]string{}
	}
	bound[WrapMarker] = "1"
	dk, err := s.o.Envelope.Provider().GenerateDataKey(ctx, tenant, bound)
	if err != nil {
		if errors.Is(err, kms.ErrShredded) {
			err = errShredded
		} else {
			err = internal(err)
		}
		return kms.DataKey{}, nil, s.auditFailure(ctx, a, "WrapForTenant", "", err)
	}
	if err := s.record(ctx, a, audit.Record{Action: "WrapForTenant", VersionID: dk.KeyID, Result: audit.ResultOK}); err != nil {
		clear(dk.Plaintext)
		return kms.DataKey{}, nil, err
	}
	return dk, bound, nil
}
