package bot

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"

	"github.com/rampart-platform/rampart/pkg/ttlcache"
)

// How long ownOrg's answer (users.info, ADR 0097 §3) is reused for one
// writer of an org-wide installation. A member is trusted for OrgCacheTTL:
// a user leaving the organisation may be answered that long after (a
// deactivated one cannot post at all). A non-member is remembered
// shorter, so a user just added to the organisation waits at most
// OrgCacheNegativeTTL. Failures are not remembered: they are refused and
// asked again on the next message.
const (
	OrgCacheTTL         = 5 * time.Minute
	OrgCacheNegativeTTL = time.Minute
	// OrgCacheMaxEntries bounds the cache: its keys are chosen by whoever
	// writes in a shared channel (about 100 bytes each).
	OrgCacheMaxEntries = 10_000
)

// orgLookupTimeout bounds one users.info lookup. It runs detached from the
// first asker's context because others may be waiting on it.
const orgLookupTimeout = 10 * time.Second

// orgCache remembers ownOrg answers by installation and user (a pkg/ttlcache
// LRU, each answer until its own expiry); a conversation in a Slack Connect
// channel then costs one users.info call per TTL instead of one per
// message, and writers asked about at once share one call.
type orgCache struct {
	answers *ttlcache.Cache[string, bool]
	now     clock
	flights singleflight.Group

	// Counted without labels: the keys name Slack users.
	hits, misses, evictions prometheus.Counter
}

// newOrgCache returns an org cache of at most maxEntries answers whose
// metrics go to reg (nil: none).
func newOrgCache(maxEntries int, now clock, reg prometheus.Registerer) *orgCache {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: "rampart_slackadapter_org_cache_" + name, Help: help})
	}
	c := &orgCache{
		now:       now,
		hits:      counter("hits_total", "Org-wide installations' outside writers answered from the org cache."),
		misses:    counter("misses_total", "Org cache lookups that asked Slack's users.info (concurrent ones for one writer share a call)."),
		evictions: counter("evictions_total", "Org cache answers evicted to respect OrgCacheMaxEntries."),
	}
	c.answers = ttlcache.New(maxEntries, func(string, bool) { c.evictions.Inc() })
	if reg != nil {
		reg.MustRegister(c.hits, c.misses, c.evictions)
	}
	return c
}

// orgCacheKey names one writer of one installation: the answer compares
// the user's organisation with the installation's.
func orgCacheKey(tenant, team, enterprise, user string) string {
	return tenant + "\x00" + team + "\x00" + enterprise + "\x00" + user
}

// lookup returns the remembered answer for key, else asks (once for all
// concurrent lookups of key) and remembers what it answered; a failure is
// returned to every asker waiting on it and not remembered. A caller stops
// waiting when its own ctx ends.
func (c *orgCache) lookup(ctx context.Context, key string, ask func(context.Context) (bool, error)) (bool, error) {
	if own, ok := c.get(key, c.now()); ok {
		c.hits.Inc()
		return own, nil
	}
	c.misses.Inc()
	ch := c.flights.DoChan(key, func() (any, error) {
		// A flight that finished just before this one started may have
		// answered already.
		if own, ok := c.get(key, c.now()); ok {
			return own, nil
		}
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), orgLookupTimeout)
		defer cancel()
		own, err := ask(actx)
		if err != nil {
			return false, err
		}
		c.put(key, own, c.now())
		return own, nil
	})
	select {
	case <-ctx.Done():
		return false, ctx.Err()
	case res := <-ch:
		own, _ := res.Val.(bool) // the flight returns only bool
		return own, res.Err
	}
}

// get returns the remembered answer for key, if it has not expired at now.
func (c *orgCache) get(key string, now time.Time) (own, ok bool) {
	return c.answers.Get(key, now)
}

// put remembers own for key from now on (OrgCacheTTL for a member,
// OrgCacheNegativeTTL otherwise), evicting the least recently used
// entries beyond the bound.
func (c *orgCache) put(key string, own bool, now time.Time) {
	ttl := OrgCacheNegativeTTL
	if own {
		ttl = OrgCacheTTL
	}
	c.answers.Put(key, own, now.Add(ttl))
}

// len is the number of entries held (expired ones until looked up or
// evicted).
func (c *orgCache) len() int { return c.answers.Len() }
