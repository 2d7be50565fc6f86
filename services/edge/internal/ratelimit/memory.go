package ratelimit

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

const shards = 64

// Memory is an in-process GCRA limiter, sharded to keep lock contention
// low. Idle keys are swept as the shard grows.
type Memory struct {
	now   func() time.Time
	seed  maphash.Seed
	shard [shards]memShard
}

type memShard struct {
	mu    sync.Mutex
	tat   map[string]int64 // theoretical arrival time, Unix nanoseconds
	ops   int
	sweep int // size at which to sweep next
}

// NewMemory returns an in-memory limiter. now may be nil (time.Now).
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	m := &Memory{now: now, seed: maphash.MakeSeed()}
	for i := range m.shard {
		m.shard[i].tat = map[string]int64{}
		m.shard[i].sweep = 1024
	}
	return m
}

// Allow implements Limiter with the same arithmetic as redis_rate's script.
func (m *Memory) Allow(_ context.Context, key string, l Limit) (Result, error) {
	if l.IsZero() {
		return Result{Allowed: true, Limit: l, Remaining: -1}, nil
	}
	burst := max(l.Burst, 1)
	interval := int64(l.Period) / int64(l.Rate)
	if interval <= 0 {
		interval = 1
	}
	offset := interval * int64(burst)
	s := &m.shard[maphash.String(m.seed, key)%shards]
	s.mu.Lock()
	defer s.mu.Unlock()
	now := m.now().UnixNano()
	tat, ok := s.tat[key]
	if !ok || tat < now {
		tat = now
	}
	newTAT := tat + interval
	diff := now - (newTAT - offset)
	if diff < 0 {
		return Result{
			Allowed: false, Limit: l, Remaining: 0,
			RetryAfter: time.Duration(-diff), ResetAfter: time.Duration(tat - now),
		}, nil
	}
	s.tat[key] = newTAT
	s.ops++
	if len(s.tat) >= s.sweep {
		for k, t := range s.tat {
			if t < now {
				delete(s.tat, k)
			}
		}
		s.sweep = max(1024, 2*len(s.tat))
	}
	return Result{
		Allowed: true, Limit: l, Remaining: int(diff / interval),
		RetryAfter: -1, ResetAfter: time.Duration(newTAT - now),
	}, nil
}
