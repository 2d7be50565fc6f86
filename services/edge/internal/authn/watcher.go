package authn

import (
	"context"
	"log/slog"
	"sync"
	"time"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/retry"
)

const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// Watch follows auth's revocation stream until ctx ends, evicting revoked
// keys and suspended tenants from the cache as events arrive. When the
// stream breaks it re-subscribes from the last cursor with exponential
// backoff and equal jitter (pkg/retry: the n-th wait is between half and
// all of min(100 ms·2^(n-1), 5 s)), starting over once a stream got as far
// as being resynced; meanwhile the cache runs on the degraded TTL.
// It returns ctx's error.
func (a *Authenticator) Watch(ctx context.Context) error {
	retry.Reconnect(ctx, retry.EqualJitter(minBackoff, maxBackoff), func(ctx context.Context) (bool, error) {
		synced, err := a.watchOnce(ctx)
		a.stateMu.Lock()
		a.connected.Store(false)
		a.stateMu.Unlock()
		a.metrics.setConnected(false)
		return synced, err
	}, func(err error, delay time.Duration) {
		a.metrics.reconnect()
		a.log.Warn("revocation stream lost; cache TTL shortened until resynced",
			slog.String("error", errString(err)), slog.Int64("retry_in_us", delay.Microseconds()), slog.Int64("ttl_us", a.degradedTTL.Microseconds()))
	})
	return ctx.Err()
}

// watchOnce runs one subscription. It reports whether the stream got as
// far as being resynced.
func (a *Authenticator) watchOnce(ctx context.Context) (bool, error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	from := a.cursor.Load()
	stream, err := a.client.WatchRevocations(sctx, &authv1.WatchRevocationsRequest{AfterCursor: from})
	if err != nil {
		return false, err
	}
	var once sync.Once
	synced := make(chan struct{})
	markSynced := func() {
		once.Do(func() {
			a.stateMu.Lock()
			defer a.stateMu.Unlock()
			if sctx.Err() != nil {
				return
			}
			if from == 0 {
				// Without a cursor the server starts "from now": whatever
				// happened while we were not subscribed is unknown.
				if n := a.cache.flush(); n > 0 {
					a.log.Info("revocation stream subscribed without a cursor; cache flushed", slog.Int("evicted", n))
				}
			}
			a.connected.Store(true)
			a.metrics.setConnected(true)
			close(synced)
		})
	}
	// Headers arrive once the server has registered the subscription; an
	// event proves it too.
	go func() {
		if _, err := stream.Header(); err == nil {
			markSynced()
		}
	}()
	for {
		ev, err := stream.Recv()
		if err != nil {
			select {
			case <-synced:
				return true, err
			default:
				return false, err
			}
		}
		markSynced()
		a.apply(ev)
	}
}

// apply handles one revocation event.
func (a *Authenticator) apply(ev *authv1.WatchRevocationsResponse) {
	n := 0
	switch ev.GetKind() {
	case authv1.RevocationKind_REVOCATION_KIND_KEY_REVOKED, authv1.RevocationKind_REVOCATION_KIND_KEY_EXPIRED,
		// A changed grant (its subject's role): verified again at its next
		// request, so a demotion binds here as fast as a revocation.
		authv1.RevocationKind_REVOCATION_KIND_KEY_CHANGED:
		n = a.cache.evictKey(ev.GetKeyId())
		// And what the key has open ends: a stream is not verified again
		// (ADR 0132 §3); a key whose grant only changed opens it again.
		a.streams.endKey(ev.GetKeyId())
	case authv1.RevocationKind_REVOCATION_KIND_TENANT_SUSPENDED:
		n = a.cache.evictTenant(ev.GetTenantId())
		a.streams.endTenant(ev.GetTenantId())
	case authv1.RevocationKind_REVOCATION_KIND_TENANT_CHANGED:
		// Changed tenant limits (rates, budget, allowed models): every key
		// of the tenant is verified again and carries the new ones; open
		// streams were admitted under the old ones and go on.
		n = a.cache.evictTenant(ev.GetTenantId())
	case authv1.RevocationKind_REVOCATION_KIND_RESYNC:
		n = a.cache.flush()
	default: // heartbeat or a kind this edge does not know: cursor only
	}
	if c := ev.GetCursor(); c > a.cursor.Load() {
		a.cursor.Store(c)
	}
	a.metrics.event(ev.GetKind().String(), n)
	a.log.Debug("revocation event applied", slog.String("kind", ev.GetKind().String()),
		slog.String("key_id", ev.GetKeyId()), slog.String("tenant_id", ev.GetTenantId()),
		slog.Int64("cursor", ev.GetCursor()), slog.Int("evicted", n))
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
