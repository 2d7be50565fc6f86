package keys

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/rampart-platform/rampart/services/auth/internal/store"
)

// UpdateTenantLimits replaces a tenant's limits. Owners of the tenant (with
// scope admin) and the platform admin may; another tenant is NotFound. What
// the platform admin sets is also the tenant's ceiling: owners may only
// narrow within it (ADR 0058), so a tenant cannot lift the quota the
// platform gave it. The change is announced as a tenant_limits_changed
// event (TENANT_CHANGED on WatchRevocations): every edge drops the
// tenant's cached keys, so they pick the new limits up at their next
// request, not at the end of the edge's cache TTL (ADR 0072).
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
	}{{"limits.requests_per_minute", l.RPM}, {"limits.tokens_per_minute", l.TPM}, {"limits.monthly_token_budget", l.MonthlyTokens},
		{"limits.max_concurrent_streams", l.MaxStreams}} {
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
	l.Ceiling = nil
	var out store.Tenant
	err := s.db.Tx(ctx, func(q *store.Queries) error {
		now := s.opt.Now()
		cur, err := q.GetTenant(ctx, id)
		if err != nil {
			return mapStore(err, "tenant "+id)
		}
		if platform {
			// The platform's limits are the tenant's ceiling from now on.
			ceiling := l
			l.Ceiling = &ceiling
		} else {
			if err := withinCeiling(cur.Limits.Ceiling, l); err != nil {
				return err
			}
			l.Ceiling = cur.Limits.Ceiling
		}
		if err := q.SetTenantLimits(ctx, id, l, now); err != nil {
			return mapStore(err, "tenant "+id)
		}
		t, err := q.GetTenant(ctx, id)
		if err != nil {
			return mapStore(err, "tenant "+id)
		}
		out = t
		if err := s.event(ctx, q, store.EventTenantLimitsChanged, id, ""); err != nil {
			return err
		}
		return s.audit(ctx, q, c, id, "tenant.limits", "tenant:"+id, "ok; "+describeLimits(l))
	})
	if err == nil {
		s.notify()
	}
	return out, err
}

func describeLimits(l store.TenantLimits) string {
	models := "all"
	if len(l.AllowedModels) > 0 {
		models = strings.Join(l.AllowedModels, ",")
	}
	return fmt.Sprintf("rpm=%d tpm=%d monthly_tokens=%d max_streams=%d models=%s", l.RPM, l.TPM, l.MonthlyTokens, l.MaxStreams, truncate(models))
}

// withinCeiling: limits an owner sets must be covered by the platform's
// ceiling c (nil: none). A limit of 0 is "none", so it exceeds any positive
// ceiling; an empty model list is "every model", so it exceeds a non-empty
// one. The error is a PermissionDenied naming the first field that exceeds.
func withinCeiling(c *store.TenantLimits, l store.TenantLimits) error {
	if c == nil {
		return nil
	}
	for _, f := range []struct {
		name       string
		v, ceiling int64
	}{{"limits.requests_per_minute", l.RPM, c.RPM}, {"limits.tokens_per_minute", l.TPM, c.TPM},
		{"limits.monthly_token_budget", l.MonthlyTokens, c.MonthlyTokens}, {"limits.max_concurrent_streams", l.MaxStreams, c.MaxStreams}} {
		if f.ceiling > 0 && (f.v == 0 || f.v > f.ceiling) {
			have := "no limit"
			if f.v > 0 {
				have = fmt.Sprint(f.v)
			}
			return deniedf("%s: %s exceeds the platform's limit of %d for this tenant (owners only narrow it)", f.name, have, f.ceiling)
		}
	}
	if len(c.AllowedModels) == 0 {
		return nil
	}
	if len(l.AllowedModels) == 0 {
		return deniedf("limits.allowed_models: an empty list allows every model; the platform allows this tenant only %s", truncate(strings.Join(c.AllowedModels, ", ")))
	}
	for i, m := range l.AllowedModels {
		if !slices.Contains(c.AllowedModels, m) {
			return deniedf("limits.allowed_models[%d]: %q is not allowed to this tenant by the platform", i, truncate(m))
		}
	}
	return nil
}
