package principal

import (
	"sync"
	"time"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
)

// verifiedCache maps whole assertions to their verified principals until the
// assertions expire (with the verifier's clock skew, as Verify allows).
//
// Every call reads it, and a busy key's assertion is added once per few
// minutes: reads go through a sync.Map and take no lock (ADR 0061; an
// RWMutex's reader count was a cache line both cores wrote on every call),
// additions and evictions take mu.
type verifiedCache struct {
	max int
	m   sync.Map // token string → verified

	mu sync.Mutex
	n  int // entries in m
}

type verified struct {
	p   *authv1.Principal
	exp time.Time
}

func (c *verifiedCache) get(token string, now time.Time) (*authv1.Principal, bool) {
	v, ok := c.m.Load(token)
	if !ok {
		return nil, false
	}
	e, _ := v.(verified) // only verified values are stored
	if !now.Before(e.exp) {
		return nil, false
	}
	return e.p, true
}

func (c *verifiedCache) put(token string, p *authv1.Principal, exp, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n >= c.max {
		c.m.Range(func(k, v any) bool {
			if e, _ := v.(verified); !now.Before(e.exp) {
				c.m.Delete(k)
				c.n--
			}
			return true
		})
		// Still full of live entries: start over rather than grow without
		// bound; the next calls simply verify again.
		if c.n >= c.max {
			c.m.Clear()
			c.n = 0
		}
	}
	if _, loaded := c.m.Swap(token, verified{p: p, exp: exp}); !loaded {
		c.n++
	}
}

// len is the number of assertions remembered.
func (c *verifiedCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}
