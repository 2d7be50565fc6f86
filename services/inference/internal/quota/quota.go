package quota

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/rampart-platform/rampart/pkg/principal"
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
	// Pools are the key's tokens-per-minute pools, outermost first (the
	// principal's tokens_pools, ADR 0086, or its one tokens_pool, ADR
	// 0076; see principal.RatePools): every key minted or rotated from a
	// limited key also draws from that key's own bucket, at its rate, so
	// minting does not multiply the rate and a narrower limit binds what is
	// minted below it. The first NPools are set ([Limits.AddPool]).
	Pools  [principal.MaxRatePools]Pool
	NPools int
}

// Pool is one tokens-per-minute pool: the key whose bucket it is and its
// rate.
type Pool struct {
	Key string
	TPM int64
}

// AddPool appends a pool; one without a key or rate, and any beyond
// principal.MaxRatePools, is skipped.
func (l *Limits) AddPool(key string, tpm int64) {
	if key == "" || tpm <= 0 || l.NPools == len(l.Pools) {
		return
	}
	l.Pools[l.NPools] = Pool{Key: key, TPM: tpm}
	l.NPools++
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

// Headers are OpenAI's x-ratelimit-* token headers of st: none when no
// tokens-per-minute limit applies, and remaining is never negative (a
// bucket in debt has nothing left).
func (st Status) Headers() map[string]string {
	if st.LimitTokens == 0 {
		return nil
	}
	return map[string]string{
		"x-ratelimit-limit-tokens":     strconv.FormatInt(st.LimitTokens, 10),
		"x-ratelimit-remaining-tokens": strconv.FormatInt(max(st.RemainingTokens, 0), 10),
		"x-ratelimit-reset-tokens":     st.ResetTokens.Round(time.Millisecond).String(),
	}
}

// MaxBuckets is how many TPM buckets one call draws from: its key's, its
// key's pools' (ADR 0076, 0086) and its tenant's.
const MaxBuckets = 2 + principal.MaxRatePools

// Draw is the TPM buckets of one call, by value (building it allocates
// nothing beyond the ids).
type Draw struct {
	N    int
	ID   [MaxBuckets]string
	Rate [MaxBuckets]int64
	// Tag is the call's tenant: in Redis every bucket of the call is kept
	// under it as a hash tag, so on a Redis Cluster they share one slot and
	// one script call reaches them all (ADR 0086).
	Tag string
}

// Buckets stores the token-per-minute buckets: a bucket of capacity rate
// refills at rate/60 tokens per second. Memory (one replica) and Redis
// (shared by every replica) implement it; each method handles all the
// buckets of a call at once (one Redis round trip).
type Buckets interface {
	// Levels refills the buckets of d and returns the tokens each holds
	// (negative when in debt).
	Levels(ctx context.Context, d Draw) ([MaxBuckets]float64, error)
	// Spend refills the buckets of d and removes tokens from each.
	Spend(ctx context.Context, d Draw, tokens int64) error
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

func (e *Enforcer) levels(ctx context.Context, d Draw) [MaxBuckets]float64 {
	if e.shared != nil {
		lv, err := e.shared.Levels(ctx, d)
		if err == nil {
			return lv
		}
		e.reportErr(err)
	}
	lv, _ := e.local.Levels(ctx, d)
	return lv
}

func (e *Enforcer) spend(ctx context.Context, d Draw, tokens int64) {
	if e.shared != nil {
		err := e.shared.Spend(ctx, d, tokens)
		if err == nil {
			return
		}
		e.reportErr(err)
	}
	_ = e.local.Spend(ctx, d, tokens)
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

// Levels implements Buckets.
func (m *memBuckets) Levels(_ context.Context, d Draw) ([MaxBuckets]float64, error) {
	var lv [MaxBuckets]float64
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	for i := range d.N {
		lv[i] = m.bucketLocked(d.ID[i], d.Rate[i], now).level
	}
	return lv, nil
}

// Spend implements Buckets.
func (m *memBuckets) Spend(_ context.Context, d Draw, tokens int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	for i := range d.N {
		m.bucketLocked(d.ID[i], d.Rate[i], now).level -= float64(tokens)
	}
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
	d, what := tpmDraw(s, l)
	if d.N == 0 {
		return st, nil
	}
	lv := e.levels(ctx, d)
	for i := range d.N {
		rate, level := d.Rate[i], lv[i]
		if level < 1 {
			wait := time.Duration((1 - level) / (float64(rate) / 60) * float64(time.Second))
			e := apierr.RateLimited(fmt.Sprintf("Rate limit reached for tokens per minute (TPM) on %s: limit %d. Please try again in %s.", what[i], rate, wait.Round(time.Millisecond)), wait)
			// The refusing bucket's headers (ADR 0096): nothing left, and
			// the reset is the wait the message and Retry-After give (as
			// at OpenAI), not the time until the bucket is full.
			e.Headers = Status{LimitTokens: rate, ResetTokens: wait}.Headers()
			return st, e
		}
		if st.LimitTokens == 0 || int64(level) < st.RemainingTokens {
			st = Status{LimitTokens: rate, RemainingTokens: int64(level), ResetTokens: time.Duration((float64(rate) - level) / (float64(rate) / 60) * float64(time.Second))}
		}
	}
	return st, nil
}

// What the TPM refusal says each level is.
const (
	whatKey    = "this API key"
	whatPool   = "the API keys minted from the same limited key (they share its rate)"
	whatTenant = "this organization"
)

// tpmDraw is the TPM buckets of a call of s under l, in the order they are
// checked (key, pools from the outermost, tenant), and what each is. A level without a limit
// has no bucket and builds no id (issue 15: strings per request). The
// pool's bucket is its first key's own, at that key's rate; a key that is
// its pool's first key is charged once.
func tpmDraw(s Subject, l Limits) (Draw, [MaxBuckets]string) {
	var (
		d    Draw
		what [MaxBuckets]string
	)
	d.Tag = s.Tenant
	add := func(id string, rate int64, w string) {
		d.ID[d.N], d.Rate[d.N], what[d.N] = id, rate, w
		d.N++
	}
	if l.KeyTPM > 0 {
		add("k\x00"+s.Tenant+"\x00"+s.Key, l.KeyTPM, whatKey)
	}
	for _, p := range l.Pools[:l.NPools] {
		if p.Key != s.Key {
			add("k\x00"+s.Tenant+"\x00"+p.Key, p.TPM, whatPool)
		}
	}
	if l.TenantTPM > 0 {
		add("t\x00"+s.Tenant, l.TenantTPM, whatTenant)
	}
	return d, what
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
		used, ok, err := e.sharedMonths.MonthUsed(ctx, tenant, id, start)
		if err == nil && ok {
			return used, nil
		}
		if err == nil {
			// First use this month on any replica: seed from the usage store.
			seed, serr := e.seedMonth(ctx, tenant, key, start)
			if serr != nil {
				return 0, serr
			}
			used, err = e.sharedMonths.SeedMonth(ctx, tenant, id, start, seed)
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
	if d, _ := tpmDraw(s, l); d.N > 0 {
		e.spend(ctx, d, tokens)
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
	if e.sharedMonths != nil && (l.KeyBudget > 0 || l.TenantBudget > 0) {
		// Only the levels with a budget: nothing reads the other counter.
		var charged [2]string
		n := 0
		for i, budget := range [2]int64{l.KeyBudget, l.TenantBudget} {
			if budget > 0 {
				charged[n] = idsOf()[i]
				n++
			}
		}
		if err := e.sharedMonths.AddMonth(ctx, s.Tenant, charged[:n], monthOf(), tokens); err != nil {
			e.reportErr(err)
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
