package inference

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/pkg/ttlcache"
	"github.com/rampart-platform/rampart/services/inference/internal/apierr"
	"github.com/rampart-platform/rampart/services/inference/internal/quota"
)

// TenantLimits are a tenant's limits as a background job is held to them:
// the tenant-wide token limits (only TenantTPM and TenantBudget of Limits
// are read) and the models the tenant may use (the platform's ceiling
// narrowed by its owners, ADR 0058; empty: every model).
type TenantLimits struct {
	Limits quota.Limits
	Models []string
}

// AuthLimitsFunc reads a tenant's limits as auth stores them: auth's
// principal-less GetTenantLimits, open to inference's identity only (ADR
// 0106 §2). A tenant auth does not know is an error matching
// grpcerr.ErrNotFound.
type AuthLimitsFunc func(ctx context.Context, tenant string) (TenantLimits, error)

// DefaultAuthLimitsTTL is how long one answer of auth is used for a
// tenant's jobs: a limit lowered in auth reaches them within it.
const DefaultAuthLimitsTTL = 30 * time.Second

// maxAuthLimits bounds the per-replica cache of auth's answers (tenants
// with jobs in the last TTL; the least recently used beyond it are asked
// again), and that of the limits seen on principals.
const maxAuthLimits = 10000

// SeenLimitsTTL is how long the limits seen on a tenant's verified
// principal narrow its jobs, and stand in for auth's while auth cannot be
// asked, after the tenant's last call here (refreshed by its calls): a
// tenant gone quiet, or evicted beyond maxAuthLimits, is unseen again and
// its jobs wait for auth's answer (ADR 0111 §2).
const SeenLimitsTTL = 15 * time.Minute

// ErrTenantLimitsUnreachable refuses a job of a tenant this replica saw on
// no verified principal while auth cannot be asked: Unavailable, so the
// job waits and runs again (ADR 0095 addendum), never unlimited.
var ErrTenantLimitsUnreachable = fmt.Errorf("%w: the tenant's limits could not be read from auth; retry later",
	grpcerr.ErrUnavailable)

// ErrTenantUnknownToAuth refuses a job of a tenant auth has no record of
// (never created, or purged): no job of it may run.
var ErrTenantUnknownToAuth = fmt.Errorf("%w: the tenant is not known to auth", grpcerr.ErrFailedPrecondition)

// ErrTenantNotActive refuses a job of a tenant auth says is suspended or
// deleted (GetTenantLimits' FailedPrecondition, grpcerr.TenantNotActive):
// Unavailable, so the job waits and runs again once the tenant is resumed
// (a purged one is then ErrTenantUnknownToAuth). Never the limits seen on
// its principals instead: those stand in for auth's only while auth
// cannot be asked (ADR 0115).
var ErrTenantNotActive = fmt.Errorf("%w: the tenant is not active (suspended or deleted); its jobs wait until it is resumed",
	grpcerr.ErrUnavailable)

// seenLimits are a tenant's limits as last seen on a verified principal
// (tenant tokens per minute and budget, the model ceiling), until the
// entry's deadline (kept to refresh it only when half is spent). Small on
// purpose: chat's path reads and compares it on every call.
type seenLimits struct {
	tpm, budget int64
	models      []string
	until       time.Time
}

// limits are the seen token limits as quota limits.
func (l seenLimits) limits() quota.Limits {
	return quota.Limits{TenantTPM: l.tpm, TenantBudget: l.budget}
}

// authLimits is auth's answer for tenant, cached for AuthLimitsTTL, with
// one call in flight per tenant however many jobs ask at once. Errors are
// not cached.
func (s *Service) authLimits(ctx context.Context, tenant string) (TenantLimits, error) {
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
			return TenantLimits{}, err
		}
		l = TenantLimits{Limits: quota.Limits{TenantTPM: l.Limits.TenantTPM, TenantBudget: l.Limits.TenantBudget}, Models: slices.Clone(l.Models)}
		ttl := s.AuthLimitsTTL
		if ttl <= 0 {
			ttl = DefaultAuthLimitsTTL
		}
		s.authCache.Put(tenant, l, s.now().Add(ttl))
		return l, nil
	})
	if err != nil {
		return TenantLimits{}, err
	}
	l, _ := v.(TenantLimits)
	return l, nil
}

// narrow is the stricter, field by field, of two tenant-wide limits.
func narrow(a, b quota.Limits) quota.Limits {
	return quota.Limits{TenantTPM: stricter(a.TenantTPM, b.TenantTPM), TenantBudget: stricter(a.TenantBudget, b.TenantBudget)}
}

// jobBounds are what a job of a tenant is held to: its tenant-wide token
// limits and each model list it must be within (auth's stored ceiling,
// the one seen on the tenant's principals; an empty list is every model).
type jobBounds struct {
	limits quota.Limits
	models [2][]string
}

// allows reports whether a model, named name and resolved to id, is on
// every one of the bounds' model lists.
func (b jobBounds) allows(name, id string) bool {
	for _, l := range b.models {
		if len(l) > 0 && !slices.Contains(l, name) && !slices.Contains(l, id) {
			return false
		}
	}
	return true
}

// errTenantModelNotAllowed refuses a job on a model outside the tenant's
// ceiling (PermissionDenied: ingestion fails the job, it does not wait).
func errTenantModelNotAllowed(model string) error {
	return &apierr.Error{Kind: apierr.KindPermission, Type: "invalid_request_error", Code: "model_not_allowed", Param: "model",
		Message: fmt.Sprintf("The model `%s` is not among the models this tenant may use (its limits' allowed_models).", model)}
}

// jobLimits are the bounds a job of tenant is held to. With auth
// (AuthLimits set): auth's stored values (token limits and model ceiling),
// narrowed by those this replica last saw on the tenant's principals and
// the token limits the caller carried (nil: none), which can only narrow,
// so a compromised ingestion sending zeros (no limit) lifts nothing and
// names no model outside the ceiling (ADR 0106 §2, ADR 0111 §1). A
// tenant auth says is not active: ErrTenantNotActive (ADR 0115). Auth
// unreachable: a tenant seen on a principal keeps the seen values
// (narrowed by the carried ones), an unseen one is refused with
// ErrTenantLimitsUnreachable. Without auth (tests, ADR 0095 §4): the
// stricter of seen and carried, or ErrTenantLimitsUnknown when neither is
// known.
func (s *Service) jobLimits(ctx context.Context, tenant string, carried *quota.Limits) (jobBounds, error) {
	local, seen := s.seenCache.Get(tenant, s.now())
	var b jobBounds
	if seen {
		b.models[1] = local.models
	}
	if s.AuthLimits != nil {
		stored, err := s.authLimits(ctx, tenant)
		switch {
		case errors.Is(err, grpcerr.ErrNotFound):
			return jobBounds{}, ErrTenantUnknownToAuth
		case grpcerr.TenantNotActive(err) != "":
			return jobBounds{}, ErrTenantNotActive
		case err == nil:
			b.limits, b.models[0] = stored.Limits, stored.Models
			if seen {
				b.limits = narrow(b.limits, local.limits())
			}
			if carried != nil {
				b.limits = narrow(b.limits, *carried)
			}
			return b, nil
		case !seen:
			s.Log.WarnContext(ctx, "tenant limits: auth unreachable for a tenant not seen here; the job waits", "tenant", tenant, "err", err)
			return jobBounds{}, ErrTenantLimitsUnreachable
		}
		s.Log.WarnContext(ctx, "tenant limits: auth unreachable; the limits seen on the tenant's principals apply", "tenant", tenant, "err", err)
		b.limits = local.limits()
		if carried != nil {
			b.limits = narrow(b.limits, *carried)
		}
		return b, nil
	}
	switch {
	case carried == nil && !seen:
		return jobBounds{}, ErrTenantLimitsUnknown
	case carried == nil:
		b.limits = local.limits()
	case !seen:
		b.limits = *carried
	default:
		b.limits = narrow(local.limits(), *carried)
	}
	return b, nil
}

// newAuthCache is the bounded cache of auth's answers.
func newAuthCache() *ttlcache.Cache[string, TenantLimits] {
	return ttlcache.New[string, TenantLimits](maxAuthLimits, nil)
}

// newSeenCache is the bounded cache of the limits seen on principals.
func newSeenCache() *ttlcache.Cache[string, seenLimits] {
	return ttlcache.New[string, seenLimits](maxAuthLimits, nil)
}
