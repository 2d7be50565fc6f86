package middleware

import (
	"context"

	"github.com/rampart-platform/rampart/services/edge/internal/reqstate"
)

// ReportTenant records the authenticated tenant of the request: the access
// log line and every later log line of the request show it.
func ReportTenant(ctx context.Context, tenantID string) {
	if st := reqstate.From(ctx); st != nil {
		st.TenantID = tenantID
	}
}
