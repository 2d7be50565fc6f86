package keys

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/rampart-platform/rampart/pkg/periodic"
	"github.com/rampart-platform/rampart/services/auth/internal/store"
)

// pruneEvery is how often Sweep prunes the event log. Sweeps run every
// 500 ms for expiry; a DELETE (a write transaction on SQLite) at that rate
// was a visible part of an idle auth's CPU, for a log kept 7 days.
const pruneEvery = time.Minute

// Sweep runs one round of background work: expire keys whose expiry passed
// (emitting KEY_EXPIRED events), purge deleted tenants past their grace
// period (emitting TENANT_PURGED), prune old events and flush last-use
// times (pruning at most once a minute). It returns how many keys and tenants changed.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	now := s.opt.Now()
	changed := 0
	keysDue, tenantsDue, err := s.db.Q().SweepDue(ctx, now)
	if err != nil {
		return 0, err
	}
	var due []store.Key
	if keysDue {
		if due, err = s.db.Q().DueForExpiry(ctx, now, 500); err != nil {
			return 0, err
		}
	}
	if len(due) > 0 {
		expired := 0
		err = s.db.Tx(ctx, func(q *store.Queries) error {
			expired = 0
			for _, k := range due {
				// Conditional: another replica's sweep (or a revocation) may
				// have changed the key since it was listed.
				ok, err := q.ExpireKey(ctx, k.TenantID, k.ID, now)
				if err != nil {
					return err
				}
				if !ok {
					continue
				}
				expired++
				if err := s.event(ctx, q, store.EventKeyExpired, k.TenantID, k.ID); err != nil {
					return err
				}
				if err := s.audit(ctx, q, System, k.TenantID, "key.expire", "key:"+k.ID, "ok"); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
		changed += expired
	}
	var purge []store.Tenant
	if tenantsDue {
		if purge, err = s.db.Q().TenantsToPurge(ctx, now, 50); err != nil {
			return changed, err
		}
	}
	for _, t := range purge {
		err := s.db.Tx(ctx, func(q *store.Queries) error {
			if err := q.PurgeTenant(ctx, t.ID, now); err != nil {
				return err
			}
			if err := s.event(ctx, q, store.EventTenantPurged, t.ID, ""); err != nil {
				return err
			}
			return s.audit(ctx, q, System, t.ID, "tenant.purge", "tenant:"+t.ID, "ok")
		})
		if errors.Is(err, store.ErrNotFound) {
			continue // another replica's sweep purged it first
		}
		if err != nil {
			return changed, err
		}
		changed++
	}
	if changed > 0 {
		s.notify()
	}
	if last := s.prunedAt.Load(); last == 0 || now.Sub(time.Unix(0, last)) >= pruneEvery {
		if _, err := s.db.Q().PruneEvents(ctx, now.Add(-s.opt.EventRetention)); err != nil {
			return changed, err
		}
		s.prunedAt.Store(now.UnixNano())
	}
	return changed, s.FlushLastUsed(ctx)
}

// Run sweeps every interval (expiry must reach watchers within a second, so
// keep it below that) and drains the failure audit queue, until ctx ends.
func (s *Service) Run(ctx context.Context, interval time.Duration) {
	// Awaited before Run returns: the drain writes to the store, which
	// closes after Run.
	var drain sync.WaitGroup
	drain.Go(func() { s.DrainFailureAudit(ctx) })
	defer drain.Wait()
	periodic.Every(ctx, interval, func(ctx context.Context) {
		if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("auth sweep", "err", err)
		}
	})
	flush, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	_ = s.FlushLastUsed(flush)
	cancel()
}
