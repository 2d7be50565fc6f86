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
	// BudgetKey is the key whose monthly counter KeyBudget is checked
	// against (the principal's budget_key_id): a key replaced by rotation
	// or minted by a budgeted key shares its origin's counter. Empty: the
	// calling key's own.
	BudgetKey string
}

// budgetKey is the key id of the monthly counter for s under l.
func budgetKey(s Subject, l Limits) string {
	if l.BudgetKey != "" {
		return l.BudgetKey
	}
	return s.Key
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

// Buckets stores the token-per-minute buckets: a bucket of capacity rate
// refills at rate/60 tokens per second. Memory (one replica) and Redis
// (shared by every replica) implement it.
type Buckets interface {
	// Level refills bucket id and returns the tokens it holds (negative
	// when in debt).
	Level(ctx context.Context, id string, rate int64) (float64, error)
	// Spend refills bucket id and removes tokens from it.
	Spend(ctx context.Context, id string, rate, tokens int64) error
}

// Enforcer holds the counters.
type Enforcer struct {
	mu     sync.Mutex
	local  *memBuckets
	shared Buckets // nil: local only
	// sharedMonths holds the monthly counters for every replica (nil:
	// counted per replica).
	sharedMonths MonthCounters
	onErr        func(error)
	months       map[string]*month
	seed         MonthUsage
	now          func() time.Time
}

// SetShared makes TPM buckets live in b (e.g. Redis) so every replica
// enforces the same limit; when b also keeps MonthCounters (Redis does),
// the monthly budgets are shared the same way. When b fails, the replica's
// own buckets and counters decide and onErr (may be nil) hears about it.
func (e *Enforcer) SetShared(b Buckets, onErr func(error)) {
	e.shared, e.onErr = b, onErr
	e.sharedMonths, _ = b.(MonthCounters)
}

func (e *Enforcer) reportErr(err error) {
	if e.onErr != nil {
		e.onErr(err)
	}
}

func (e *Enforcer) level(ctx context.Context, id string, rate int64) float64 {
	if e.shared != nil {
		lv, err := e.shared.Level(ctx, id, rate)
		if err == nil {
			return lv
		}
		if e.onErr != nil {
			e.onErr(err)
		}
	}
	lv, _ := e.local.Level(ctx, id, rate)
	return lv
}

func (e *Enforcer) spend(ctx context.Context, id string, rate, tokens int64) {
	if e.shared != nil {
		err := e.shared.Spend(ctx, id, rate, tokens)
		if err == nil {
			return
		}
		if e.onErr != nil {
			e.onErr(err)
		}
	}
	_ = e.local.Spend(ctx, id, rate, tokens)
}

// memBuckets are the buckets of one replica.
type memBuckets struct {
	mu      sync.Mutex
	buckets map[string]*bucket
	now     func() time.Time
}

type bucket struct {
	level float64
	last  time.Time
	rate  int64
}

// Level implements Buckets.
func (m *memBuckets) Level(_ context.Context, id string, rate int64) (float64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.bucketLocked(id, rate, m.now()).level, nil
}

// Spend implements Buckets.
func (m *memBuckets) Spend(_ context.Context, id string, rate, tokens int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.bucketLocked(id, rate, m.now()).level -= float64(tokens)
	return nil
}

type month struct {
	start time.Time
	used  int64
}

// New returns an enforcer seeding monthly counters from seed (may be nil).
func New(seed MonthUsage) *Enforcer {
	return &Enforcer{local: &memBuckets{buckets: map[string]*bucket{}, now: time.Now}, months: map[string]*month{}, seed: seed, now: time.Now}
}

// SetClock replaces the clock (tests).
func (e *Enforcer) SetClock(now func() time.Time) { e.now, e.local.now = now, now }

// Check refuses the call when a bucket is empty or a budget is spent.
func (e *Enforcer) Check(ctx context.Context, s Subject, l Limits) (Status, error) {
	var st Status
	if l.KeyBudget > 0 || l.TenantBudget > 0 {
		if err := e.checkBudgets(ctx, s, l); err != nil {
			return st, err
		}
	}
	for _, c := range [...]struct {
		key  bool
		rate int64
		what string
	}{{true, l.KeyTPM, "API key"}, {false, l.TenantTPM, "organization"}} {
		if c.rate <= 0 {
			continue // no limit: no bucket id to build (issue 15: two strings per request)
		}
		id := "t\x00" + s.Tenant
		if c.key {
			id = "k\x00" + s.Tenant + "\x00" + s.Key
		}
		b := bucket{level: e.level(ctx, id, c.rate)}
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

func (m *memBuckets) bucketLocked(id string, rate int64, now time.Time) *bucket {
	b, ok := m.buckets[id]
	if !ok || b.rate != rate {
		b = &bucket{level: float64(rate), last: now, rate: rate}
		m.buckets[id] = b
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
	}{{"k\x00" + s.Tenant + "\x00" + budgetKey(s, l), s.Tenant, budgetKey(s, l), l.KeyBudget, "API key"}, {"t\x00" + s.Tenant, s.Tenant, "", l.TenantBudget, "organization"}} {
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
	if e.sharedMonths != nil {
		used, ok, err := e.sharedMonths.MonthUsed(ctx, id, start)
		if err == nil && ok {
			return used, nil
		}
		if err == nil {
			// First use this month on any replica: seed from the usage store.
			seed, serr := e.seedMonth(ctx, tenant, key, start)
			if serr != nil {
				return 0, serr
			}
			used, err = e.sharedMonths.SeedMonth(ctx, id, start, seed)
			if err == nil {
				return used, nil
			}
		}
		e.reportErr(err)
	}
	return e.localMonthUsed(ctx, id, tenant, key, start)
}

func (e *Enforcer) seedMonth(ctx context.Context, tenant, key string, start time.Time) (int64, error) {
	if e.seed == nil {
		return 0, nil
	}
	u, err := e.seed(ctx, tenant, key, start)
	if err != nil {
		return 0, fmt.Errorf("quota: read month usage: %w", err)
	}
	return u, nil
}

func (e *Enforcer) localMonthUsed(ctx context.Context, id, tenant, key string, start time.Time) (int64, error) {
	e.mu.Lock()
	m, ok := e.months[id]
	if ok && m.start.Equal(start) {
		used := m.used
		e.mu.Unlock()
		return used, nil
	}
	e.mu.Unlock()
	used, err := e.seedMonth(ctx, tenant, key, start)
	if err != nil {
		return 0, err
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
func (e *Enforcer) Charge(ctx context.Context, s Subject, l Limits, tokens int64) {
	if tokens <= 0 {
		return
	}
	if l.KeyTPM > 0 {
		e.spend(ctx, "k\x00"+s.Tenant+"\x00"+s.Key, l.KeyTPM, tokens)
	}
	if l.TenantTPM > 0 {
		e.spend(ctx, "t\x00"+s.Tenant, l.TenantTPM, tokens)
	}
	// The month and the counters' ids are worked out only when a counter
	// may need them (issue 15: a clock read, a calendar conversion and two
	// strings per request, for nothing unless a budget is set).
	var (
		start time.Time
		ids   [2]string
	)
	monthOf := func() time.Time {
		if start.IsZero() {
			start = monthStart(e.now())
		}
		return start
	}
	idsOf := func() *[2]string {
		if ids[1] == "" {
			ids = [2]string{"k\x00" + s.Tenant + "\x00" + budgetKey(s, l), "t\x00" + s.Tenant}
		}
		return &ids
	}
	if e.sharedMonths != nil {
		for i, budget := range [2]int64{l.KeyBudget, l.TenantBudget} {
			if budget <= 0 {
				continue // no budget at this level: nothing reads the counter
			}
			if err := e.sharedMonths.AddMonth(ctx, idsOf()[i], monthOf(), tokens); err != nil {
				e.reportErr(err)
			}
		}
	}
	// The replica's own counters follow too: they decide while Redis is down.
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.months) == 0 {
		return // no month counter seeded yet: none to follow
	}
	for _, id := range idsOf() {
		if m, ok := e.months[id]; ok && m.start.Equal(monthOf()) {
			m.used += tokens
		}
	}
}
