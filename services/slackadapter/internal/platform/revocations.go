package platform

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/retry"
)

// Forgetter drops cached principal assertions (the bot's adapter).
type Forgetter interface {
	ForgetKey(keyID string)
	ForgetTenant(tenant string)
	ForgetAll()
}

// RevocationsClient is the part of auth's AuthService the watcher uses.
type RevocationsClient interface {
	WatchRevocations(ctx context.Context, in *authv1.WatchRevocationsRequest, opts ...grpc.CallOption) (grpc.ServerStreamingClient[authv1.WatchRevocationsResponse], error)
}

// Revocations follows auth's revocation stream, as the edge does, and drops
// the adapter's cached assertion of a key that was revoked, expired or
// changed, or of a suspended tenant: the bot stops answering for it within
// a second, not after bot.MaxAssertionAge.
type Revocations struct {
	client RevocationsClient
	forget Forgetter
	log    *slog.Logger
	cursor int64
	synced atomic.Bool
}

// NewRevocations returns a watcher feeding forget.
func NewRevocations(client RevocationsClient, forget Forgetter, log *slog.Logger) *Revocations {
	return &Revocations{client: client, forget: forget, log: log}
}

// Synced reports whether the stream is subscribed (events from now on are
// applied).
func (r *Revocations) Synced() bool { return r.synced.Load() }

// Run follows the stream until ctx ends, reconnecting with full jitter.
func (r *Revocations) Run(ctx context.Context) error {
	retry.Reconnect(ctx, retry.FullJitter(200*time.Millisecond, 30*time.Second), r.session, func(err error, delay time.Duration) {
		r.synced.Store(false)
		r.log.WarnContext(ctx, "revocation stream ended; reconnecting", "err", err, "retry_in_us", delay.Microseconds())
	})
	return nil
}

// session runs one stream from the last cursor. A first subscription (no
// cursor) may have missed events while the adapter cached assertions, so
// it drops them all once subscribed.
func (r *Revocations) session(ctx context.Context) (bool, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := r.client.WatchRevocations(ctx, &authv1.WatchRevocationsRequest{AfterCursor: r.cursor})
	if err != nil {
		return false, err
	}
	if _, err := st.Header(); err != nil {
		return false, err
	}
	if r.cursor == 0 {
		r.forget.ForgetAll()
	}
	r.synced.Store(true)
	progressed := false
	for {
		ev, err := st.Recv()
		if err != nil {
			return progressed, err
		}
		progressed = true
		switch ev.GetKind() {
		case authv1.RevocationKind_REVOCATION_KIND_KEY_REVOKED, authv1.RevocationKind_REVOCATION_KIND_KEY_EXPIRED,
			authv1.RevocationKind_REVOCATION_KIND_KEY_CHANGED:
			r.forget.ForgetKey(ev.GetKeyId())
		case authv1.RevocationKind_REVOCATION_KIND_TENANT_SUSPENDED, authv1.RevocationKind_REVOCATION_KIND_TENANT_CHANGED:
			r.forget.ForgetTenant(ev.GetTenantId())
		case authv1.RevocationKind_REVOCATION_KIND_RESYNC:
			r.forget.ForgetAll()
		default: // a kind this adapter does not know: cursor only
		}
		if c := ev.GetCursor(); c > r.cursor {
			r.cursor = c
		}
	}
}
