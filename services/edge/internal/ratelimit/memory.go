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
	sweep int              // size at which to sweep next
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

// Allow decides one request on the single bucket key.
func (m *Memory) Allow(ctx context.Context, key string, l Limit) (Result, error) {
	var ls Levels
	ls.Add("key", key, l)
	d, err := m.AllowLevels(ctx, ls)
	return d.Result, err
}

// AllowLevels implements Limiter: it holds the levels' shards (each once,
// in shard order, so two requests never wait on each other in a cycle)
// while it decides every level and charges them all or none.
func (m *Memory) AllowLevels(_ context.Context, ls Levels) (Decision, error) {
	if ls.n == 0 {
		return unlimited, nil
	}
	var held [MaxLevels]int // shard indices, ascending, distinct
	nh := 0
	var idx [MaxLevels]int
	for i := range ls.n {
		idx[i] = int(maphash.String(m.seed, ls.l[i].Key) % shards)
		j := nh
		for j > 0 && held[j-1] > idx[i] {
			j--
		}
		if j > 0 && held[j-1] == idx[i] {
			continue
		}
		copy(held[j+1:nh+1], held[j:nh])
		held[j] = idx[i]
		nh++
	}
	for _, h := range held[:nh] {
		m.shard[h].mu.Lock()
	}
	defer func() {
		for _, h := range held[:nh] {
			m.shard[h].mu.Unlock()
		}
	}()
	now := m.now().UnixNano()
	d := Decision{Refused: -1}
	var newTAT [MaxLevels]int64
	for i := range ls.n {
		lv := &ls.l[i]
		res, tat := gcra(m.shard[idx[i]].tat[lv.Key], now, lv.Limit)
		if !res.Allowed {
			return Decision{Refused: i, Result: res}, nil
		}
		newTAT[i] = tat
		if i == 0 || res.Remaining < d.Result.Remaining {
			d.Result = res
		}
	}
	for i := range ls.n {
		s := &m.shard[idx[i]]
		s.tat[ls.l[i].Key] = newTAT[i]
		if len(s.tat) >= s.sweep {
			for k, t := range s.tat {
				if t < now {
					delete(s.tat, k)
				}
			}
			s.sweep = max(1024, 2*len(s.tat))
		}
	}
	return d, nil
}
