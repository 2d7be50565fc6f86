package middleware

import "context"

// tenantSlot lets an inner middleware (authn) report the tenant of the
// request to the outer access log without the log reaching into authn.
type tenantSlot struct{ id string }

type tenantSlotKey struct{}

func withTenantSlot(ctx context.Context, s *tenantSlot) context.Context {
	return context.WithValue(ctx, tenantSlotKey{}, s)
}

// ReportTenant records the authenticated tenant for the access log line.
func ReportTenant(ctx context.Context, tenantID string) {
	if s, ok := ctx.Value(tenantSlotKey{}).(*tenantSlot); ok {
		s.id = tenantID
	}
}
