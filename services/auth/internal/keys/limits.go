package keys

import (
	"context"
	"fmt"
	"strings"

	"github.com/rampart-platform/rampart/services/auth/internal/store"
)

// UpdateTenantLimits replaces a tenant's limits. Owners of the tenant (with
// scope admin) and the platform admin may; another tenant is NotFound. The
// keys of the tenant pick the new limits up at their next verification
// (within the edge's cache TTL).
func (s *Service) UpdateTenantLimits(ctx context.Context, c Caller, id string, l store.TenantLimits) (store.Tenant, error) {
	if id == "" {
		return store.Tenant{}, invalid("tenant_id", "required")
	}
	platform := s.IsPlatformAdmin(ctx, c)
	switch {
	case id != c.TenantID && !platform:
		return store.Tenant{}, notFound("tenant " + id)
	case !platform && (c.Role != store.RoleOwner || !c.tenantAdmin()):
		return store.Tenant{}, denied("only the tenant's owners (with scope admin) or the platform admin set tenant limits")
	}
	for _, f := range []struct {
		name string
		v    int64
	}{{"limits.requests_per_minute", l.RPM}, {"limits.tokens_per_minute", l.TPM}, {"limits.monthly_token_budget", l.MonthlyTokens}} {
		if f.v < 0 {
			return store.Tenant{}, invalid(f.name, "must not be negative")
		}
	}
	if err := checkList("limits.allowed_models", l.AllowedModels, false); err != nil {
		return store.Tenant{}, err
	}
	for i, m := range l.AllowedModels {
		if m == NoModel {
			return store.Tenant{}, invalid(fmt.Sprintf("limits.allowed_models[%d]", i), "%q is reserved", NoModel)
		}
	}
	var out store.Tenant
	err := s.db.Tx(ctx, func(q *store.Queries) error {
		now := s.opt.Now()
		if err := q.SetTenantLimits(ctx, id, l, now); err != nil {
			return mapStore(err, "tenant "+id)
		}
		t, err := q.GetTenant(ctx, id)
		if err != nil {
			return mapStore(err, "tenant "+id)
		}
		out = t
		return s.audit(ctx, q, c, id, "tenant.limits", "tenant:"+id, "ok; "+describeLimits(l))
	})
	return out, err
}

func describeLimits(l store.TenantLimits) string {
	models := "all"
	if len(l.AllowedModels) > 0 {
		models = strings.Join(l.AllowedModels, ",")
	}
	return fmt.Sprintf("rpm=%d tpm=%d monthly_tokens=%d models=%s", l.RPM, l.TPM, l.MonthlyTokens, truncate(models))
}
