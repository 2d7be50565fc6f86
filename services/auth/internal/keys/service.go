package keys

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rampart-platform/rampart/pkg/principal"

	"github.com/rampart-platform/rampart/services/auth/internal/events"
	"github.com/rampart-platform/rampart/services/auth/internal/store"
)

// Options tune the service; zero values take the defaults.
type Options struct {
	DefaultTTL      time.Duration // key lifetime when none is asked (90 days)
	MaxTTL          time.Duration // longest key lifetime (365 days)
	DefaultOverlap  time.Duration // rotation overlap (14 days)
	TenantGrace     time.Duration // deleted tenant → purge (7 days)
	CacheTTL        time.Duration // how long the edge may cache a verification (30 s)
	EventRetention  time.Duration // how long the event log keeps events (7 days)
	FailureAuditPer time.Duration // window of the per-source failure audit limit (1 min)
	FailureAuditMax int           // failure records per source per window (10)
	Now             func() time.Time
	Log             *slog.Logger
}

func (o *Options) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.DefaultTTL, 90*24*time.Hour)
	def(&o.MaxTTL, 365*24*time.Hour)
	def(&o.DefaultOverlap, 14*24*time.Hour)
	def(&o.TenantGrace, 7*24*time.Hour)
	def(&o.CacheTTL, 30*time.Second)
	def(&o.EventRetention, 7*24*time.Hour)
	def(&o.FailureAuditPer, time.Minute)
	if o.FailureAuditMax <= 0 {
		o.FailureAuditMax = 10
	}
	if o.DefaultTTL > o.MaxTTL {
		o.DefaultTTL = o.MaxTTL
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
}

// SignerSource returns the current principal signer.
type SignerSource interface {
	Signer() *principal.Signer
}

// Service implements the auth domain.
type Service struct {
	db     *store.DB
	opt    Options
	signer SignerSource
	hub    *events.Hub
	log    *slog.Logger

	platform atomic.Pointer[string]
	// prunedAt is when Sweep last pruned the event log (Unix ns, service
	// clock): pruning a 7-day log is due once a minute, not every sweep.
	prunedAt atomic.Int64

	usedMu sync.Mutex
	used   map[string]time.Time

	failures *failureLimiter
	auditQ   chan store.AuditRecord
	dummy    store.Key
}

// New returns the service. hub may be shared with the stream handlers.
func New(ctx context.Context, db *store.DB, signer SignerSource, hub *events.Hub, opt Options) (*Service, error) {
	opt.defaults()
	s := &Service{db: db, opt: opt, signer: signer, hub: hub, log: opt.Log,
		used:     map[string]time.Time{},
		failures: newFailureLimiter(opt.FailureAuditMax, opt.FailureAuditPer),
		auditQ:   make(chan store.AuditRecord, 1024)}
	salt := make([]byte, 16)
	hash := make([]byte, 32)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	s.dummy = store.Key{Salt: salt, Hash: hash}
	if _, err := s.platformTenant(ctx); err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("read platform tenant: %w", err)
	}
	return s, nil
}

// Now returns the service clock's time.
func (s *Service) Now() time.Time { return s.opt.Now() }

// Options returns the effective options.
func (s *Service) Options() Options { return s.opt }

const metaPlatformTenant = "platform_tenant_id"

func (s *Service) platformTenant(ctx context.Context) (string, error) {
	if p := s.platform.Load(); p != nil {
		return *p, nil
	}
	id, err := s.db.Q().GetMeta(ctx, metaPlatformTenant)
	if err != nil {
		return "", err
	}
	s.platform.Store(&id)
	return id, nil
}

// IsPlatformAdmin reports whether c is the platform admin: a tenant admin
// with role owner in the bootstrap tenant.
func (s *Service) IsPlatformAdmin(ctx context.Context, c Caller) bool {
	pt, err := s.platformTenant(ctx)
	return err == nil && pt != "" && c.TenantID == pt && c.Role == store.RoleOwner && c.tenantAdmin()
}

// notify wakes event watchers after a commit that appended events.
func (s *Service) notify() {
	if s.hub != nil {
		s.hub.Notify()
	}
}

// audit appends a record in the transaction q.
func (s *Service) audit(ctx context.Context, q *store.Queries, c Caller, tenantID, action, target, result string) error {
	_, err := q.AppendAudit(ctx, store.AuditRecord{
		TenantID: tenantID, At: s.opt.Now(), Actor: c.actor(), Action: action, Target: target,
		Result: result, RequestID: c.RequestID, SourceIP: c.SourceIP,
	})
	if err != nil {
		return fmt.Errorf("append audit: %w", err)
	}
	return nil
}

func (s *Service) event(ctx context.Context, q *store.Queries, kind, tenantID, keyID string) error {
	_, err := q.AppendEvent(ctx, store.Event{Kind: kind, TenantID: tenantID, KeyID: keyID, At: s.opt.Now()})
	if err != nil {
		return fmt.Errorf("append event: %w", err)
	}
	return nil
}

func mapStore(err error, what string) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return notFound(what)
	case errors.Is(err, store.ErrConflict):
		return fmt.Errorf("%w: %s", ErrAlreadyExists, what)
	default:
		return err
	}
}
