package principal

import (
	"sync"
	"time"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
)

// verifiedCache maps whole assertions to their verified principals until the
// assertions expire (with the verifier's clock skew, as Verify allows).
type verifiedCache struct {
	max int
	mu  sync.RWMutex
	m   map[string]verified
}

type verified struct {
	p   *authv1.Principal
	exp time.Time
}

func (c *verifiedCache) get(token string, now time.Time) (*authv1.Principal, bool) {
	c.mu.RLock()
	e, ok := c.m[token]
	c.mu.RUnlock()
	if !ok || !now.Before(e.exp) {
		return nil, false
	}
	return e.p, true
}

func (c *verifiedCache) put(token string, p *authv1.Principal, exp, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		for k, e := range c.m {
			if !now.Before(e.exp) {
				delete(c.m, k)
			}
		}
		// Still full of live entries: start over rather than grow without
		// bound; the next calls simply verify again.
		if len(c.m) >= c.max {
			clear(c.m)
		}
	}
	c.m[token] = verified{p: p, exp: exp}
}
