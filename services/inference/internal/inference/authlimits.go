package inference

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/pkg/ttlcache"
	"github.com/rampart-platform/rampart/services/inference/internal/quota"
)

// AuthLimitsFunc reads a tenant's tenant-wide limits (TenantTPM,
// TenantBudget) as auth stores them: auth's principal-less GetTenantLimits,
// open to inference's identity only (ADR 0106 §2). A tenant auth does not
// know is an error matching grpcerr.ErrNotFound.
type AuthLimitsFunc func(ctx context.Context, tenant string) (quota.Limits, error)

// DefaultAuthLimitsTTL is how long one answer of auth is used for a
// tenant's jobs: a limit lowered in auth reaches them within it.
const DefaultAuthLimitsTTL = 30 * time.Second

// maxAuthLimits bounds the per-replica cache of auth's answers (tenants
// with jobs in the last TTL; the least recently used beyond it are asked
// again).
const maxAuthLimits = 10000

// ErrTenantLimitsUnreachable refuses a job of a tenant this replica saw on
// no verified principal while auth cannot be asked: Unavailable, so the
// job waits and runs again (ADR 0095 addendum), never unlimited.
var ErrTenantLimitsUnreachable = fmt.Errorf("%w: the tenant's limits could not be read from auth; retry later",
	grpcerr.ErrUnavailable)

// ErrTenantUnknownToAuth refuses a job of a tenant auth has no record of
// (never created, or purged): no job of it may run.
var ErrTenantUnknownToAuth = fmt.Errorf("%w: the tenant is not known to auth", grpcerr.ErrFailedPrecondition)

// authLimits is auth's answer for tenant, cached for AuthLimitsTTL, with
// one call in flight per tenant however many jobs ask at once. Errors are
// not cached.
func (s *Service) authLimits(ctx context.Context, tenant string) (quota.Limits, error) {
	if l, ok := s.authCache.Get(tenant, s.now()); ok {
		return l, nil
	}
	v, err, _ := s.authFlight.Do(tenant, func() (any, error) {
		// Not the first caller's deadline alone: the answer serves every
		// waiting job.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		l, err := s.AuthLimits(cctx, tenant)
		if err != nil {
			return quota.Limits{}, err
		}
		l = quota.Limits{TenantTPM: l.TenantTPM, TenantBudget: l.TenantBudget}
		ttl := s.AuthLimitsTTL
		if ttl <= 0 {
			ttl = DefaultAuthLimitsTTL
		}
		s.authCache.Put(tenant, l, s.now().Add(ttl))
		return l, nil
	})
	if err != nil {
		return quota.Limits{}, err
	}
	l, _ := v.(quota.Limits)
	return l, nil
}

// narrow is the stricter, field by field, of two tenant-wide limits.
func narrow(a, b quota.Limits) quota.Limits {
	return quota.Limits{TenantTPM: stricter(a.TenantTPM, b.TenantTPM), TenantBudget: stricter(a.TenantBudget, b.TenantBudget)}
}

// jobLimits are the tenant-wide limits a job of tenant is charged against.
// With auth (AuthLimits set): auth's stored values, narrowed by those this
// replica last saw on the tenant's principals and those the caller carried
// (nil: none), which can only narrow, so a compromised ingestion sending
// zeros (no limit) lifts nothing (ADR 0106 §2). Auth unreachable: a tenant
// seen on a principal keeps the seen values (narrowed by the carried ones),
// an unseen one is refused with ErrTenantLimitsUnreachable. Without auth
// (tests, ADR 0095 §4): the stricter of seen and carried, or
// ErrTenantLimitsUnknown when neither is known.
func (s *Service) jobLimits(ctx context.Context, tenant string, carried *quota.Limits) (quota.Limits, error) {
	v, seen := s.tenantLimits.Load(tenant)
	local, _ := v.(quota.Limits)
	if s.AuthLimits != nil {
		stored, err := s.authLimits(ctx, tenant)
		switch {
		case errors.Is(err, grpcerr.ErrNotFound):
			return quota.Limits{}, ErrTenantUnknownToAuth
		case err == nil:
			if seen {
				stored = narrow(stored, local)
			}
			if carried != nil {
				stored = narrow(stored, *carried)
			}
			return stored, nil
		case !seen:
			s.Log.WarnContext(ctx, "tenant limits: auth unreachable for a tenant not seen here; the job waits", "tenant", tenant, "err", err)
			return quota.Limits{}, ErrTenantLimitsUnreachable
		}
		s.Log.WarnContext(ctx, "tenant limits: auth unreachable; the limits seen on the tenant's principals apply", "tenant", tenant, "err", err)
		if carried == nil {
			return local, nil
		}
		return narrow(local, *carried), nil
	}
	switch {
	case carried == nil && !seen:
		return quota.Limits{}, ErrTenantLimitsUnknown
	case carried == nil:
		return local, nil
	case !seen:
		return *carried, nil
	}
	return narrow(local, *carried), nil
}

// newAuthCache is the bounded cache of auth's answers.
func newAuthCache() *ttlcache.Cache[string, quota.Limits] {
	return ttlcache.New[string, quota.Limits](maxAuthLimits, nil)
}
