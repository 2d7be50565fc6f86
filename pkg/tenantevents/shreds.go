package tenantevents

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/pkg/retry"
)

// KeyCache holds tenants' unwrapped data keys (ingestion's keyring,
// inference's prompt-log keys).
type KeyCache interface {
	// Forget drops the tenant's key at once, a load in flight included.
	Forget(tenant string)
	// ForgetAll drops every tenant's key.
	ForgetAll()
}

// ShredsClient is the part of keyvault's ShredEventsService client the
// shred watcher uses.
type ShredsClient interface {
	WatchShreds(ctx context.Context, in *keyvaultv1.WatchShredsRequest, opts ...grpc.CallOption) (grpc.ServerStreamingClient[keyvaultv1.WatchShredsResponse], error)
}

// ShredWatcher follows keyvault's crypto-shreds (WatchShreds) and drops the
// shredded tenant's keys from the caches at once, so a shred made through
// keyvault alone (`rampart tenant shred`, no purge in auth) stops the
// use of the tenant's data in this replica without waiting for the
// caches' TTL (ADR 0084).
//
// The cursor is kept in memory only: the caches are in memory too, so a
// restarted process holds no key and its first stream replays every shred
// keyvault recorded (one message per shredded tenant). A reconnect resumes
// after the last shred handled, so shreds made while the stream was down
// are applied before the stream goes on; a RESYNC (keyvault no longer
// knows the cursor, e.g. its database was restored) drops every key. The
// resume names the shred at the cursor as well (tenant and time), so a
// keyvault restored from a backup, which numbers new shreds as the lost
// ones were, answers RESYNC instead of skipping them (ADR 0095).
type ShredWatcher struct {
	client ShredsClient
	caches []KeyCache
	log    *slog.Logger
	// last is the last message handled: its cursor and, to tell keyvault
	// which shred it named (a restored keyvault numbers other shreds the
	// same, ADR 0095), its tenant and shred time.
	last atomic.Pointer[keyvaultv1.WatchShredsResponse]
	// MinBackoff and MaxBackoff bound the reconnect delay (full jitter,
	// doubling per consecutive failure).
	MinBackoff, MaxBackoff time.Duration
}

// NewShredWatcher returns a watcher that drops shredded tenants' keys from
// caches.
func NewShredWatcher(client ShredsClient, log *slog.Logger, caches ...KeyCache) *ShredWatcher {
	return &ShredWatcher{client: client, caches: caches, log: log, MinBackoff: 200 * time.Millisecond, MaxBackoff: 10 * time.Second}
}

// Cursor is the last shred handled.
func (w *ShredWatcher) Cursor() int64 { return w.last.Load().GetCursor() }

// resumeFrom is the request that resumes after the last message handled.
func (w *ShredWatcher) resumeFrom() *keyvaultv1.WatchShredsRequest {
	last := w.last.Load()
	return &keyvaultv1.WatchShredsRequest{AfterCursor: last.GetCursor(), AfterTenantId: last.GetTenantId(), AfterShredTime: last.GetShredTime()}
}

// Run follows the stream until ctx ends, reconnecting after any failure
// with full jitter (pkg/retry); a session that handled an event starts the
// backoff over.
func (w *ShredWatcher) Run(ctx context.Context) {
	retry.Reconnect(ctx, retry.FullJitter(w.MinBackoff, w.MaxBackoff), w.Session, func(err error, delay time.Duration) {
		w.log.WarnContext(ctx, "keyvault shred stream ended; reconnecting (shreds in between are replayed)", "err", err, "retry_in_us", delay.Microseconds())
	})
}

// Session runs one stream from the cursor until it fails; it reports
// whether any event was handled (to reset the reconnect backoff).
func (w *ShredWatcher) Session(ctx context.Context) (bool, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := w.client.WatchShreds(ctx, w.resumeFrom())
	if err != nil {
		return false, fmt.Errorf("watch shreds: %w", err)
	}
	progressed := false
	for {
		ev, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return progressed, errors.New("watch shreds: stream closed by keyvault")
		}
		if err != nil {
			return progressed, fmt.Errorf("watch shreds: %w", err)
		}
		switch ev.GetKind() {
		case keyvaultv1.ShredEventKind_SHRED_EVENT_KIND_SHREDDED:
			for _, c := range w.caches {
				c.Forget(ev.GetTenantId())
			}
			w.log.DebugContext(ctx, "tenant crypto-shredded in keyvault: its cached data keys are dropped", "tenant_id", ev.GetTenantId(), "cursor", ev.GetCursor())
		case keyvaultv1.ShredEventKind_SHRED_EVENT_KIND_RESYNC:
			for _, c := range w.caches {
				c.ForgetAll()
			}
			w.log.WarnContext(ctx, "keyvault does not know the shred cursor: every cached tenant key is dropped", "cursor", w.Cursor(), "keyvault_cursor", ev.GetCursor())
		default:
			continue
		}
		w.last.Store(&keyvaultv1.WatchShredsResponse{Cursor: ev.GetCursor(), TenantId: ev.GetTenantId(), ShredTime: ev.GetShredTime()})
		progressed = true
	}
}
