package quota

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/rampart-platform/rampart/services/inference/internal/apierr"
)

// Limits are the limits that apply to one call (0 = none at that level).
type Limits struct {
	KeyTPM, TenantTPM       int64
	KeyBudget, TenantBudget int64
}

// Subject identifies whose limits apply.
type Subject struct {
	Tenant, Key string
}

// MonthUsage returns tokens already used this month (from the usage store).
type MonthUsage func(ctx context.Context, tenant, key string, since time.Time) (int64, error)

// Status is the rate-limit state reported in x-ratelimit-* headers.
type Status struct {
	LimitTokens     int64
	RemainingTokens int64
	ResetTokens     time.Duration
}

// Enforcer holds the counters.
type Enforcer struct {
	mu      sync.Mutex
	buckets map[string]*bucket
	months  map[string]*month
	seed    MonthUsage
	now     func() time.Time
}

type bucket struct {
	level float64
	last  time.Time
	rate  int64
}

type month struct {
	start time.Time
	used  int64
}

// New returns an enforcer seeding monthly counters from seed (may be nil).
func New(seed MonthUsage) *Enforcer {
	return &Enforcer{buckets: map[string]*bucket{}, months: map[string]*month{}, seed: seed, now: time.Now}
}

// SetClock replaces the clock (tests).
func (e *Enforcer) SetClock(now func() time.Time) { e.now = now }

// Check refuses the call when a bucket is empty or a budget is spent.
func (e *Enforcer) Check(ctx context.Context, s Subject, l Limits) (Status, error) {
	var st Status
	if l.KeyBudget > 0 || l.TenantBudget > 0 {
		if err := e.checkBudgets(ctx, s, l); err != nil {
			return st, err
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	for _, c := range []struct {
		id   string
		rate int64
		what string
	}{{"k\x00" + s.Tenant + "\x00" + s.Key, l.KeyTPM, "API key"}, {"t\x00" + s.Tenant, l.TenantTPM, "organization"}} {
		if c.rate <= 0 {
			continue
		}
		b := e.bucketLocked(c.id, c.rate, now)
		if b.level < 1 {
			wait := time.Duration((1 - b.level) / (float64(c.rate) / 60) * float64(time.Second))
			return st, apierr.RateLimited(fmt.Sprintf("Rate limit reached for tokens per minute (TPM) on this %s: limit %d. Please try again in %s.", c.what, c.rate, wait.Round(time.Millisecond)), wait)
		}
		if st.LimitTokens == 0 || int64(b.level) < st.RemainingTokens {
			st = Status{LimitTokens: c.rate, RemainingTokens: int64(b.level), ResetTokens: time.Duration((float64(c.rate) - b.level) / (float64(c.rate) / 60) * float64(time.Second))}
		}
	}
	return st, nil
}

func (e *Enforcer) bucketLocked(id string, rate int64, now time.Time) *bucket {
	b, ok := e.buckets[id]
	if !ok || b.rate != rate {
		b = &bucket{level: float64(rate), last: now, rate: rate}
		e.buckets[id] = b
		return b
	}
	b.level = math.Min(float64(rate), b.level+now.Sub(b.last).Seconds()*float64(rate)/60)
	b.last = now
	return b
}

func monthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

func (e *Enforcer) checkBudgets(ctx context.Context, s Subject, l Limits) error {
	start := monthStart(e.now())
	for _, c := range []struct {
		id, tenant, key string
		budget          int64
		what            string
	}{{"k\x00" + s.Tenant + "\x00" + s.Key, s.Tenant, s.Key, l.KeyBudget, "API key"}, {"t\x00" + s.Tenant, s.Tenant, "", l.TenantBudget, "organization"}} {
		if c.budget <= 0 {
			continue
		}
		used, err := e.monthUsed(ctx, c.id, c.tenant, c.key, start)
		if err != nil {
			return err
		}
		if used >= c.budget {
			return apierr.Quota(fmt.Sprintf("You exceeded the monthly token budget of this %s (%d tokens). Ask an administrator to raise it.", c.what, c.budget))
		}
	}
	return nil
}

func (e *Enforcer) monthUsed(ctx context.Context, id, tenant, key string, start time.Time) (int64, error) {
	e.mu.Lock()
	m, ok := e.months[id]
	if ok && m.start.Equal(start) {
		used := m.used
		e.mu.Unlock()
		return used, nil
	}
	e.mu.Unlock()
	var used int64
	if e.seed != nil {
		u, err := e.seed(ctx, tenant, key, start)
		if err != nil {
			return 0, fmt.Errorf("quota: read month usage: %w", err)
		}
		used = u
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if m, ok := e.months[id]; ok && m.start.Equal(start) {
		return m.used, nil // another request seeded it meanwhile
	}
	e.months[id] = &month{start: start, used: used}
	return used, nil
}

// Charge records tokens used by a finished call.
func (e *Enforcer) Charge(s Subject, l Limits, tokens int64) {
	if tokens <= 0 {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	if l.KeyTPM > 0 {
		e.bucketLocked("k\x00"+s.Tenant+"\x00"+s.Key, l.KeyTPM, now).level -= float64(tokens)
	}
	if l.TenantTPM > 0 {
		e.bucketLocked("t\x00"+s.Tenant, l.TenantTPM, now).level -= float64(tokens)
	}
	start := monthStart(now)
	for _, id := range []string{"k\x00" + s.Tenant + "\x00" + s.Key, "t\x00" + s.Tenant} {
		if m, ok := e.months[id]; ok && m.start.Equal(start) {
			m.used += tokens
		}
	}
}
