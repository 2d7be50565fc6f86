package keys

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/apikey"
	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/pkg/principal"

	"github.com/rampart-platform/rampart/services/auth/internal/store"
)

// Verified is a successful verification.
type Verified struct {
	Principal *authv1.Principal
	// Assertion is the first audience's assertion; Assertions has one
	// per audience asked for, in that order (ADR 0083).
	Assertion  string
	Assertions []*authv1.AudienceAssertion
	CacheUntil time.Time
}

// Source describes where a verification came from, for the failure audit.
type Source struct {
	IP        string
	RequestID string
	Caller    string // SPIFFE id of the calling service
}

// Verify checks a presented API key. Every failure — malformed, unknown,
// wrong secret, revoked, expired, rotated out, suspended tenant, removed
// member — returns the same ErrInvalidKey (a right key of a suspended or
// deleted tenant also says so in a detail, ADR 0123 §2), and the secret comparison is
// constant-time (a dummy comparison runs for unknown ids). The principal is
// signed once per audience, each assertion valid only at that service (ADR
// 0083); which audiences a caller may ask for is the server's to check.
func (s *Service) Verify(ctx context.Context, presented string, src Source, audiences ...string) (Verified, error) {
	key, err := apikey.Parse(presented)
	if err != nil {
		s.auditFailure(src, "", "", "malformed key")
		return Verified{}, ErrInvalidKey
	}
	ka, err := s.db.Q().KeyForVerify(ctx, key.ID)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			return Verified{}, err
		}
		key.Matches(s.dummy.Salt, s.dummy.Hash)
		s.auditFailure(src, "", key.ID, "unknown key")
		return Verified{}, ErrInvalidKey
	}
	k := ka.Key
	now := s.opt.Now()
	reason := ""
	switch {
	case !key.Matches(k.Salt, k.Hash):
		reason = "wrong secret"
	case k.State != store.KeyActive && k.State != store.KeyRotating:
		reason = "key not active"
	case !now.Before(k.ExpiresAt):
		reason = "key expired"
	case ka.TenantState != store.TenantActive:
		reason = "tenant not active"
	case ka.Role == 0:
		reason = "subject is no longer a member"
	}
	if reason != "" {
		s.auditFailure(src, k.TenantID, k.ID, reason)
		switch {
		case ka.TenantState == store.TenantSuspended && reason == "tenant not active":
			return Verified{}, keyOfTenantNotActiveError{grpcerr.ReasonTenantSuspended}
		case ka.TenantState == store.TenantDeleted && reason == "tenant not active":
			return Verified{}, keyOfTenantNotActiveError{grpcerr.ReasonTenantDeleted}
		}
		return Verified{}, ErrInvalidKey
	}
	p := &authv1.Principal{
		TenantId:      k.TenantID,
		KeyId:         k.ID,
		BudgetKeyId:   k.BudgetPool(),
		Subject:       k.Subject,
		MemberId:      ka.MemberID,
		Roles:         []string{RoleName(ka.Role)},
		Scopes:        effectiveScopes(k.Scopes, ka.Role),
		AllowedModels: principalModels(k.AllowedModels, ka.TenantLimits.AllowedModels),
		// The tenant's own list, for services acting for the tenant
		// without a key (ingestion's background jobs; ADR 0065).
		TenantAllowedModels: slices.Clone(ka.TenantLimits.AllowedModels),
		AllowedEndpoints:    k.AllowedEndpoints,
		Limits:              principalLimits(k.Limits, ka.TenantLimits),
	}
	p.RequestsPool, p.RequestsPools = ratePools(k.ID, k.RequestsPools())
	p.TokensPool, p.TokensPools = ratePools(k.ID, k.TokensPools())
	signer := s.signer.Signer()
	if signer == nil {
		return Verified{}, errors.New("no signing key")
	}
	// The assertion never outlives the key, measured on the service clock.
	notAfter := time.Now().Add(k.ExpiresAt.Sub(now))
	v := Verified{Principal: p}
	if v.Assertions, err = signFor(signer, p, audiences, notAfter); err != nil {
		return Verified{}, err
	}
	if len(v.Assertions) > 0 {
		v.Assertion = v.Assertions[0].GetAssertion()
	}
	cacheUntil := now.Add(s.opt.CacheTTL)
	if k.ExpiresAt.Before(cacheUntil) {
		cacheUntil = k.ExpiresAt
	}
	s.markUsed(k.ID, now)
	v.CacheUntil = cacheUntil
	return v, nil
}

// signFor signs p once for each audience, all with one payload
// (principal.Signer.SignEach): a call carrying several of them sends the
// others as their signatures alone (ADR 0098).
func signFor(signer *principal.Signer, p *authv1.Principal, audiences []string, notAfter time.Time) ([]*authv1.AudienceAssertion, error) {
	toks, err := signer.SignEach(p, audiences, notAfter)
	if err != nil {
		return nil, err
	}
	out := make([]*authv1.AudienceAssertion, 0, len(audiences))
	for i, aud := range audiences {
		out = append(out, &authv1.AudienceAssertion{Audience: aud, Assertion: toks[i]})
	}
	return out, nil
}

// ratePools is the principal's form of a key's nested rate pools (ADR
// 0086; at most principal.MaxRatePools) and, for services before them, the
// outermost alone (ADR 0076). The key's own bucket is never among them: the
// edge and inference charge it as the key's.
func ratePools(keyID string, pools []store.RatePool) (*authv1.RatePool, []*authv1.RatePool) {
	var out []*authv1.RatePool
	for _, rp := range store.BoundPools(pools, principal.MaxRatePools) {
		if rp.Key != "" && rp.Key != keyID && rp.PerMinute > 0 {
			out = append(out, &authv1.RatePool{KeyId: rp.Key, PerMinute: rp.PerMinute})
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out[0], out
}

// NoModel is the allowed-models entry of a principal whose key and tenant
// share no model: an empty list would mean "every model".
const NoModel = "-"

// principalModels is the model list a principal carries: the key's,
// narrowed by the tenant's.
func principalModels(key, tenant []string) []string {
	m := narrowModels(key, tenant)
	if m != nil && len(m) == 0 {
		return []string{NoModel}
	}
	return m
}

func (s *Service) markUsed(id string, at time.Time) {
	s.usedMu.Lock()
	s.used[id] = at
	s.usedMu.Unlock()
}

// FlushLastUsed writes the batched last-use times.
func (s *Service) FlushLastUsed(ctx context.Context) error {
	s.usedMu.Lock()
	used := s.used
	if len(used) == 0 {
		s.usedMu.Unlock()
		return nil
	}
	s.used = map[string]time.Time{}
	s.usedMu.Unlock()
	return s.db.Tx(ctx, func(q *store.Queries) error { return q.TouchKeys(ctx, used) })
}

// auditFailure queues an auth.failure record, rate-limited per source so a
// flood of bad keys cannot flood the log. The record never holds the
// presented key, only its public id when it parsed.
func (s *Service) auditFailure(src Source, tenantID, keyID, reason string) {
	source := src.IP
	if source == "" {
		source = src.Caller
	}
	if !s.failures.allow(source, s.opt.Now()) {
		return
	}
	target := "key:unparsable"
	if keyID != "" {
		target = "key:" + keyID
	}
	actor := "anonymous"
	if src.Caller != "" {
		actor = "anonymous via " + src.Caller
	}
	r := store.AuditRecord{TenantID: tenantID, At: s.opt.Now(), Actor: actor, Action: "auth.failure",
		Target: target, Result: reason, RequestID: src.RequestID, SourceIP: src.IP}
	select {
	case s.auditQ <- r:
	default:
		s.log.Warn("audit queue full; auth failure record dropped", "target", target)
	}
}

// DrainFailureAudit writes queued failure records until ctx ends.
func (s *Service) DrainFailureAudit(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-s.auditQ:
			err := s.db.Tx(ctx, func(q *store.Queries) error {
				_, err := q.AppendAudit(ctx, r)
				return err
			})
			if err != nil && ctx.Err() == nil {
				s.log.Error("write auth failure audit", "err", err)
			}
		}
	}
}

// failureLimiter admits max records per source per window.
type failureLimiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	start  time.Time
	counts map[string]int
}

func newFailureLimiter(limit int, window time.Duration) *failureLimiter {
	return &failureLimiter{max: limit, window: window, counts: map[string]int{}}
}

func (l *failureLimiter) allow(source string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.start) >= l.window {
		l.start, l.counts = now, map[string]int{}
	}
	if len(l.counts) >= 10000 {
		source = "*overflow*"
	}
	l.counts[source]++
	return l.counts[source] <= l.max
}

// principalLimits are a principal's limits: the key's own, and the
// tenant's from the tenant record; keys made before tenant records had
// limits may still carry their own tenant_* values, which can only narrow.
// The platform's stream cap (its ceiling's) is carried apart from the
// tenant's: only the platform's may lift the edge's default (ADR 0123 §3).
func principalLimits(k store.Limits, t store.TenantLimits) *authv1.Limits {
	var platformStreams int64
	if t.Ceiling != nil {
		platformStreams = t.Ceiling.MaxStreams
	}
	return &authv1.Limits{
		PlatformMaxConcurrentStreams: platformStreams,
		RequestsPerMinute:            k.RPM, TokensPerMinute: k.TPM, MonthlyTokenBudget: k.MonthlyTokens,
		TenantRequestsPerMinute:    narrowLimit(t.RPM, k.TenantRPM),
		TenantTokensPerMinute:      narrowLimit(t.TPM, k.TenantTPM),
		TenantMonthlyTokenBudget:   narrowLimit(t.MonthlyTokens, k.TenantMonthlyTokens),
		TenantMaxConcurrentStreams: t.MaxStreams,
	}
}
