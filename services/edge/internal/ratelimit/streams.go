package ratelimit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Slots caps how many long-lived requests (SSE chat streams) run at once
// under one key. Acquire either takes a slot, returning the function that
// gives it back (safe to call more than once), or reports ok=false when
// limit slots are taken. A limit of 0 or less means no cap.
type Slots interface {
	Acquire(ctx context.Context, key string, limit int) (release func(), ok bool)
}

// MemorySlots counts open slots in this process. A key is counted by its
// prefix (up to and including the first ':', "k:" or "t:") and the rest,
// so AcquireAll's claims, which carry the two apart, and Acquire's joined
// keys count the same slots.
type MemorySlots struct {
	mu   sync.Mutex
	open map[slotKey]int
}

// slotKey is a slot's key: its prefix ("k:", "t:") and its id.
type slotKey struct{ prefix, id string }

// splitKey is key's slotKey: the prefix up to and including the first ':'.
func splitKey(key string) slotKey {
	if i := strings.IndexByte(key, ':'); i >= 0 {
		return slotKey{key[:i+1], key[i+1:]}
	}
	return slotKey{"", key}
}

// NewMemorySlots returns an in-process slot counter.
func NewMemorySlots() *MemorySlots { return &MemorySlots{open: map[slotKey]int{}} }

// Acquire implements Slots.
func (m *MemorySlots) Acquire(_ context.Context, key string, limit int) (func(), bool) {
	if limit <= 0 {
		return func() {}, true
	}
	k := splitKey(key)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.open[k] >= limit {
		return nil, false
	}
	m.open[k]++
	var once sync.Once
	return func() { once.Do(func() { m.give(k) }) }, true
}

// give frees one slot under k.
func (m *MemorySlots) give(k slotKey) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.giveLocked(k)
}

// giveLocked frees one slot under k; the caller holds m.mu.
func (m *MemorySlots) giveLocked(k slotKey) {
	if m.open[k]--; m.open[k] <= 0 {
		delete(m.open, k)
	}
}

// MaxClaims is how many slots one AcquireAll takes at most: a chat
// stream's key, its two chains' rate pools (principal.MaxRatePools each)
// and its tenant.
const MaxClaims = 10

// Claim is one slot AcquireAll takes: under Prefix+ID (Acquire's key),
// at most Limit open; a Limit of 0 or less is no cap, and takes nothing.
type Claim struct {
	Prefix, ID string
	Limit      int
}

// AcquireAll takes a slot under every claim, or none: it reports the
// index of the first claim whose slots are all taken (refused ≥ 0, and
// nothing is held), or -1 and the function that gives every slot back
// (safe to call more than once). One lock, no key strings joined and one
// allocation for the whole set, where a chat stream's key and tenant
// slots through Acquire cost two joined strings, two locks and eight
// allocations before its first byte (issue 15, ADR 0130). More than
// MaxClaims claims panic.
func (m *MemorySlots) AcquireAll(claims []Claim) (release func(), refused int) {
	l := &memLease{m: m}
	m.mu.Lock()
	for i, c := range claims {
		if c.Limit <= 0 {
			continue
		}
		k := slotKey{c.Prefix, c.ID}
		if m.open[k] >= c.Limit { // counts what this set took already
			for _, h := range l.keys[:l.n] {
				m.giveLocked(h)
			}
			m.mu.Unlock()
			return nil, i
		}
		m.open[k]++
		l.keys[l.n] = k
		l.n++
	}
	m.mu.Unlock()
	return l.release, -1
}

// memLease is the slots one AcquireAll took.
type memLease struct {
	m    *MemorySlots
	keys [MaxClaims]slotKey
	n    int
	done atomic.Bool
}

func (l *memLease) release() {
	if !l.done.CompareAndSwap(false, true) {
		return
	}
	l.m.mu.Lock()
	defer l.m.mu.Unlock()
	for _, k := range l.keys[:l.n] {
		l.m.giveLocked(k)
	}
}

// Open returns how many slots are taken under key.
func (m *MemorySlots) Open(key string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.open[splitKey(key)]
}

// DefaultLeaseTTL is how long a Redis slot outlives its last renewal: an
// edge that dies with streams open frees their slots after at most this.
const DefaultLeaseTTL = 30 * time.Second

// RedisSlots shares slots among edge replicas: each key is a sorted set of
// leases scored by their expiry (Redis's clock). Acquiring drops expired
// leases, then adds one if fewer than limit remain — atomically, in one
// script. A held lease is renewed every TTL/3 and removed on release. If
// Redis fails, the slot is taken from the in-memory fallback instead
// (limiting per replica rather than failing open or refusing every
// stream), as the rate limiter does.
type RedisSlots struct {
	rdb      redis.UniversalClient
	prefix   string
	ttl      time.Duration
	fallback Slots
	log      *slog.Logger
	lastLog  atomic.Int64
	failures atomic.Int64
}

// NewRedisSlots returns slots in rdb under prefix. ttl 0 is DefaultLeaseTTL.
func NewRedisSlots(rdb redis.UniversalClient, prefix string, ttl time.Duration, fallback Slots, log *slog.Logger) *RedisSlots {
	if ttl <= 0 {
		ttl = DefaultLeaseTTL
	}
	if fallback == nil {
		fallback = NewMemorySlots()
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &RedisSlots{rdb: rdb, prefix: prefix, ttl: ttl, fallback: fallback, log: log}
}

// Failures returns how many Redis operations failed.
func (r *RedisSlots) Failures() int64 { return r.failures.Load() }

// KEYS[1] lease set; ARGV: limit, lease id, ttl ms. Returns 1 if taken.
var acquireScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1`)

// KEYS[1] lease set; ARGV: lease id, ttl ms. Returns 0 if the lease is gone.
var renewScript = redis.NewScript(`
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  return 0
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1`)

// Acquire implements Slots.
func (r *RedisSlots) Acquire(ctx context.Context, key string, limit int) (func(), bool) {
	if limit <= 0 {
		return func() {}, true
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	lease, setKey := hex.EncodeToString(b[:]), r.prefix+key
	ttl := r.ttl.Milliseconds()
	got, err := acquireScript.Run(ctx, r.rdb, []string{setKey}, limit, lease, ttl).Int()
	if err != nil {
		r.failed(err)
		return r.fallback.Acquire(ctx, key, limit)
	}
	if got != 1 {
		return nil, false
	}
	stop := make(chan struct{})
	go r.renew(setKey, lease, stop) //nolint:gosec // renewal outlives no request: release stops it
	var once sync.Once
	return func() {
		once.Do(func() {
			close(stop)
			// The request's context may be gone; the lease must still go.
			cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if err := r.rdb.ZRem(cctx, setKey, lease).Err(); err != nil {
				r.failed(err) // the lease expires after the TTL anyway
			}
		})
	}, true
}

// renew extends the lease every third of its TTL until stop closes: one per
// open stream, so a channel rather than pkg/periodic's context (ADR 0136).
func (r *RedisSlots) renew(setKey, lease string, stop <-chan struct{}) {
	t := time.NewTicker(r.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), r.ttl/3)
			_, err := renewScript.Run(ctx, r.rdb, []string{setKey}, lease, r.ttl.Milliseconds()).Result()
			cancel()
			if err != nil {
				r.failed(err)
			}
		}
	}
}

func (r *RedisSlots) failed(err error) {
	r.failures.Add(1)
	now := time.Now().UnixNano()
	if last := r.lastLog.Load(); now-last > int64(10*time.Second) && r.lastLog.CompareAndSwap(last, now) {
		r.log.Warn("redis stream slots failed; counting in memory", slog.String("error", err.Error()))
	}
}
