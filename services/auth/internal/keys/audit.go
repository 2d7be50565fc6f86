package keys

import (
	"context"

	"github.com/rampart-platform/rampart/services/auth/internal/store"
)

// auditTenant resolves which chain the caller may read: its own tenant for
// tenant admins; any tenant (or the platform chain "") for the platform admin.
func (s *Service) auditTenant(ctx context.Context, c Caller, tenantID string, platform bool) (string, error) {
	isPlatform := s.IsPlatformAdmin(ctx, c)
	switch {
	case platform && tenantID != "":
		return "", invalid("platform", "cannot be combined with tenant_id")
	case platform && !isPlatform:
		return "", denied("only the platform admin reads the platform chain")
	case platform:
		return "", nil
	case tenantID != "" && tenantID != c.TenantID && !isPlatform:
		return "", notFound("tenant " + tenantID)
	case !c.tenantAdmin():
		return "", denied("only tenant admins read the audit log")
	case tenantID == "":
		return c.TenantID, nil
	default:
		return tenantID, nil
	}
}

// ListAudit lists audit records, newest first, with seq < beforeSeq.
func (s *Service) ListAudit(ctx context.Context, c Caller, tenantID string, platform bool, beforeSeq int64, limit int) ([]store.AuditRecord, error) {
	t, err := s.auditTenant(ctx, c, tenantID, platform)
	if err != nil {
		return nil, err
	}
	return s.db.Q().ListAudit(ctx, t, beforeSeq, limit)
}

// VerifyAuditChain recomputes a chain.
func (s *Service) VerifyAuditChain(ctx context.Context, c Caller, tenantID string, platform bool) (store.ChainResult, error) {
	t, err := s.auditTenant(ctx, c, tenantID, platform)
	if err != nil {
		return store.ChainResult{}, err
	}
	return s.db.Q().VerifyAuditChain(ctx, t)
}
