package tenantevents

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/grpc"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/retry"
)

// CursorName is the stream_cursors row holding the position.
const CursorName = "auth.tenant_events"

// OnPurged destroys a purged tenant's data in the calling service. It must
// be idempotent: after a failure or a crash the event is delivered again.
type OnPurged func(ctx context.Context, tenant string) error

// Cursors persists the stream position in the calling service's store.
type Cursors interface {
	Cursor(ctx context.Context, name string) (int64, error)
	SetCursor(ctx context.Context, name string, cursor int64) error
}

// EventsClient is the part of auth's AuthService client the watcher uses.
type EventsClient interface {
	WatchTenantEvents(ctx context.Context, in *authv1.WatchTenantEventsRequest, opts ...grpc.CallOption) (grpc.ServerStreamingClient[authv1.WatchTenantEventsResponse], error)
}

// Watcher follows the tenant event stream.
type Watcher struct {
	client  EventsClient
	purged  OnPurged
	cursors Cursors
	log     *slog.Logger
	// Suspended, when set, is told of a tenant suspended or deleted (no
	// longer active), to drop what the service holds to work for it
	// without a request — ingestion its cached data key, so its queued
	// jobs wait until a request of the resumed tenant loads the key again
	// (ADR 0115). It is not replayed after a restart (the cursor moves
	// on): it must only drop in-memory state, which a restart drops too.
	Suspended func(tenant string)
	// MemberLeft, when set, is told of a member removed from a tenant or
	// lowered to viewer (readOnly), to drop the credentials the service
	// holds for her — ingestion deletes her data-source grants (ADR 0132
	// §1). Unlike Suspended it is durable: an error keeps the cursor
	// before the event, which is replayed after the reconnect, so it must
	// be idempotent.
	MemberLeft func(ctx context.Context, tenant, member string, readOnly bool) error
	// MinBackoff and MaxBackoff bound the reconnect delay (full jitter,
	// doubling per consecutive failure).
	MinBackoff, MaxBackoff time.Duration

	// mu guards pos and started: the position this process reached. The
	// saved cursor is shared by the service's replicas (one database);
	// resuming from it after a reconnect would skip the events another
	// replica handled meanwhile, and with them this process's in-memory
	// effects (ADR 0134).
	mu      sync.Mutex
	pos     int64
	started bool
}

// New returns a Watcher.
func New(client EventsClient, purged OnPurged, cursors Cursors, log *slog.Logger) *Watcher {
	return &Watcher{client: client, purged: purged, cursors: cursors, log: log, MinBackoff: 200 * time.Millisecond, MaxBackoff: 30 * time.Second}
}

// Run follows the stream until ctx ends, reconnecting after any failure
// with full jitter (pkg/retry); a session that handled an event starts the
// backoff over.
func (w *Watcher) Run(ctx context.Context) {
	retry.Reconnect(ctx, retry.FullJitter(w.MinBackoff, w.MaxBackoff), w.Session, func(err error, delay time.Duration) {
		w.log.WarnContext(ctx, "tenant event stream ended; reconnecting", "err", err, "retry_in_us", delay.Microseconds())
	})
}

// Session runs one stream until it fails; it reports whether any event
// was handled (to reset the reconnect backoff). The first session starts
// after the saved cursor; later ones after the last event this process
// handled, not the saved cursor, which the service's other replicas move
// too: a replica whose stream was down while another handled a
// suspension or a purge must still be told of it, for what it holds in
// memory (a tenant's data key, its search indexes). The purge handlers are
// idempotent, so the replay costs a repeated delete at most (ADR 0134).
func (w *Watcher) Session(ctx context.Context) (bool, error) {
	after, err := w.resumeAfter(ctx)
	if err != nil {
		return false, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := w.client.WatchTenantEvents(ctx, &authv1.WatchTenantEventsRequest{AfterCursor: after})
	if err != nil {
		return false, fmt.Errorf("watch tenant events: %w", err)
	}
	progressed := false
	for {
		ev, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return progressed, errors.New("watch tenant events: stream closed by auth")
		}
		if err != nil {
			return progressed, fmt.Errorf("watch tenant events: %w", err)
		}
		if err := w.handle(ctx, ev); err != nil {
			// The cursor stays before this event: it is replayed after the
			// reconnect and the handler retried.
			return progressed, err
		}
		progressed = true
	}
}

// resumeAfter returns the cursor to resume after: the saved one the first
// time, then the position this process reached.
func (w *Watcher) resumeAfter(ctx context.Context) (int64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started {
		return w.pos, nil
	}
	c, err := w.cursors.Cursor(ctx, CursorName)
	if err != nil {
		return 0, err
	}
	w.pos, w.started = c, true
	return c, nil
}

func (w *Watcher) handle(ctx context.Context, ev *authv1.WatchTenantEventsResponse) error {
	switch ev.GetKind() {
	case authv1.TenantEventKind_TENANT_EVENT_KIND_PURGED:
		if err := w.purged(ctx, ev.GetTenantId()); err != nil {
			return fmt.Errorf("destroy purged tenant's data: %w", err)
		}
	case authv1.TenantEventKind_TENANT_EVENT_KIND_SUSPENDED, authv1.TenantEventKind_TENANT_EVENT_KIND_DELETED:
		if w.Suspended != nil {
			w.Suspended(ev.GetTenantId())
		}
	case authv1.TenantEventKind_TENANT_EVENT_KIND_MEMBER_REMOVED, authv1.TenantEventKind_TENANT_EVENT_KIND_MEMBER_READ_ONLY:
		if w.MemberLeft != nil && ev.GetMemberId() != "" {
			readOnly := ev.GetKind() == authv1.TenantEventKind_TENANT_EVENT_KIND_MEMBER_READ_ONLY
			if err := w.MemberLeft(ctx, ev.GetTenantId(), ev.GetMemberId(), readOnly); err != nil {
				return fmt.Errorf("drop what is held for a member who left: %w", err)
			}
		}
	case authv1.TenantEventKind_TENANT_EVENT_KIND_RESYNC:
		// Auth no longer has the events after our cursor: purges in the gap
		// are missed here and must be reconciled by an operator.
		w.log.ErrorContext(ctx, "tenant event stream resynced: purges since the saved cursor may be missed", "cursor", ev.GetCursor())
	default:
	}
	if err := w.cursors.SetCursor(ctx, CursorName, ev.GetCursor()); err != nil {
		return fmt.Errorf("save tenant event cursor: %w", err)
	}
	w.mu.Lock()
	w.pos = ev.GetCursor()
	w.mu.Unlock()
	return nil
}
