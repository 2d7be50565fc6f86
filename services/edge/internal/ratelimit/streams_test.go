package ratelimit_test

import (
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/store/redistest"
	"github.com/rampart-platform/rampart/services/edge/internal/ratelimit"
)

// slotsContract: limit slots per key, independent keys, release frees a
// slot once however often it is called, limit 0 means no cap.
func slotsContract(t *testing.T, s ratelimit.Slots) {
	t.Helper()
	ctx := t.Context()
	var held []func()
	for range 3 {
		rel, ok := s.Acquire(ctx, "k:a", 3)
		require.True(t, ok)
		held = append(held, rel)
	}
	_, ok := s.Acquire(ctx, "k:a", 3)
	require.False(t, ok, "a fourth stream exceeds the limit of 3")
	relB, ok := s.Acquire(ctx, "k:b", 3)
	require.True(t, ok, "another key has its own slots")
	relB()

	held[0]()
	held[0]() // a second release must not free a second slot
	rel, ok := s.Acquire(ctx, "k:a", 3)
	require.True(t, ok, "a released slot is free again")
	_, ok = s.Acquire(ctx, "k:a", 3)
	require.False(t, ok, "double release freed two slots")
	rel()
	for _, r := range held[1:] {
		r()
	}
	for range 5 {
		_, ok := s.Acquire(ctx, "k:unlimited", 0)
		require.True(t, ok)
	}
}

func TestMemorySlots(t *testing.T) {
	m := ratelimit.NewMemorySlots()
	slotsContract(t, m)
	require.Zero(t, m.Open("k:a"), "every slot was given back")

	// Concurrent acquirers never exceed the limit.
	var wg sync.WaitGroup
	var mu sync.Mutex
	open, peak := 0, 0
	for range 50 {
		wg.Go(func() {
			rel, ok := m.Acquire(t.Context(), "k:race", 4)
			if !ok {
				return
			}
			mu.Lock()
			open++
			peak = max(peak, open)
			mu.Unlock()
			time.Sleep(time.Millisecond)
			mu.Lock()
			open--
			mu.Unlock()
			rel()
		})
	}
	wg.Wait()
	require.LessOrEqual(t, peak, 4)
	require.Zero(t, m.Open("k:race"))
}

func newRedisSlots(t *testing.T, addr string, ttl time.Duration) *ratelimit.RedisSlots {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = rdb.Close() })
	return ratelimit.NewRedisSlots(rdb, "rampart:edge:streams:", ttl, nil, slog.New(slog.DiscardHandler))
}

// Two edges share one cap through one real redis-server; a lease held
// open is renewed past its TTL; a dead edge's leases expire.
func TestRedisSlotsShared(t *testing.T) {
	addr := redistest.Start(t)
	a, b := newRedisSlots(t, addr, 0), newRedisSlots(t, addr, 0)
	slotsContract(t, a)

	ctx := t.Context()
	relA, ok := a.Acquire(ctx, "k:shared", 2)
	require.True(t, ok)
	relB, ok := b.Acquire(ctx, "k:shared", 2)
	require.True(t, ok)
	_, ok = a.Acquire(ctx, "k:shared", 2)
	require.False(t, ok, "the two edges together hold the limit")
	_, ok = b.Acquire(ctx, "k:shared", 2)
	require.False(t, ok)
	relB()
	rel, ok := a.Acquire(ctx, "k:shared", 2)
	require.True(t, ok, "a slot released on edge b is free on edge a")
	rel()
	relA()
	require.Zero(t, a.Failures()+b.Failures())

	// Renewal: with a 300 ms TTL, a held lease survives 1 s.
	short := newRedisSlots(t, addr, 300*time.Millisecond)
	held, ok := short.Acquire(ctx, "k:renew", 1)
	require.True(t, ok)
	time.Sleep(time.Second)
	_, ok = short.Acquire(ctx, "k:renew", 1)
	require.False(t, ok, "a held, renewed lease still counts")
	held()
	rel, ok = short.Acquire(ctx, "k:renew", 1)
	require.True(t, ok)
	rel()

	// A dead edge (its client closed: no renewal, no release) frees its
	// slots once the TTL has passed.
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	dead := ratelimit.NewRedisSlots(rdb, "rampart:edge:streams:", 300*time.Millisecond, nil, nil)
	_, ok = dead.Acquire(ctx, "k:dead", 1)
	require.True(t, ok)
	require.NoError(t, rdb.Close())
	_, ok = short.Acquire(ctx, "k:dead", 1)
	require.False(t, ok)
	require.Eventually(t, func() bool {
		rel, ok := short.Acquire(ctx, "k:dead", 1)
		if ok {
			rel()
		}
		return ok
	}, 5*time.Second, 50*time.Millisecond, "the dead edge's lease never expired")
}

func TestRedisSlotsFallBackToMemory(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = rdb.Close() })
	mem := ratelimit.NewMemorySlots()
	r := ratelimit.NewRedisSlots(rdb, "p:", 0, mem, nil)
	rel, ok := r.Acquire(t.Context(), "k", 1)
	require.True(t, ok)
	_, ok = r.Acquire(t.Context(), "k", 1)
	require.False(t, ok, "the fallback still limits")
	require.Equal(t, 1, mem.Open("k"))
	rel()
	require.Zero(t, mem.Open("k"))
	require.EqualValues(t, 2, r.Failures())
}

// TestMemorySlotsAcquireAll (ADR 0130): a stream's slots taken at once are
// all taken or none (the refused claim's index reported, nothing left
// held), claims without a limit take nothing, the release gives every
// slot back once however often it is called, and a claim counts the same
// slots as Acquire's joined key.
func TestMemorySlotsAcquireAll(t *testing.T) {
	m := ratelimit.NewMemorySlots()
	claims := func(keyLimit, tenantLimit int) []ratelimit.Claim {
		return []ratelimit.Claim{
			{Prefix: "k:", ID: "a", Limit: keyLimit},
			{Prefix: "k:", ID: "pool", Limit: keyLimit},
			{Prefix: "t:", ID: "a", Limit: tenantLimit},
		}
	}
	rel1, refused := m.AcquireAll(claims(2, 3))
	require.Equal(t, -1, refused)
	require.Equal(t, 1, m.Open("k:a"))
	require.Equal(t, 1, m.Open("k:pool"))
	require.Equal(t, 1, m.Open("t:a"), "the tenant's counter is not the key's of the same id")

	// Acquire's joined key and a claim share one counter.
	relA, ok := m.Acquire(t.Context(), "k:a", 2)
	require.True(t, ok)
	_, refused = m.AcquireAll(claims(2, 3))
	require.Equal(t, 0, refused, "the key already holds its two slots")
	require.Equal(t, 1, m.Open("k:pool"), "a refused set holds nothing")
	require.Equal(t, 1, m.Open("t:a"))
	relA()

	// The tenant's cap refuses after the key's and pool's were taken:
	// those are given back.
	_, refused = m.AcquireAll(claims(5, 1))
	require.Equal(t, 2, refused)
	require.Equal(t, 1, m.Open("k:a"))
	require.Equal(t, 1, m.Open("k:pool"))

	// No limit: nothing taken, nothing refused.
	relNone, refused := m.AcquireAll(claims(0, 0))
	require.Equal(t, -1, refused)
	require.Equal(t, 1, m.Open("k:a"))
	relNone()

	rel1()
	rel1() // a second release must not free a second set
	for _, k := range []string{"k:a", "k:pool", "t:a"} {
		require.Zero(t, m.Open(k), k)
	}
	rel2, refused := m.AcquireAll(claims(1, 1))
	require.Equal(t, -1, refused)
	_, refused = m.AcquireAll(claims(1, 1))
	require.Equal(t, 0, refused)
	rel2()
	require.Zero(t, m.Open("t:a"))
}
