package vault

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rampart-platform/rampart/pkg/periodic"
	"github.com/rampart-platform/rampart/services/keyvault/internal/audit"
	"github.com/rampart-platform/rampart/services/keyvault/internal/store"
)

// ShredPollInterval bounds how late a WatchShreds stream on this replica
// learns of a shred made on another replica sharing the database: the
// bound keyvault's own key caches already hold (kms.KeyCacheTTL, ADR 0072).
// A shred made on this replica reaches its streams at once.
const ShredPollInterval = time.Second

// shredPage is how many shreds one query sends.
const shredPage = 256

// ShredEvent is one crypto-shred sent to a watcher.
type ShredEvent = store.ShredEvent

// shredFeed wakes the WatchShreds streams when the highest shred seq this
// replica knows of grows (one shared wake-up channel, replaced on each
// change). Streams read the events themselves from the database, so a
// wake-up carries nothing that could be lost.
type shredFeed struct {
	mu      sync.Mutex
	head    int64
	changed chan struct{}
	// watchers counts open streams: the poll skips its query without them.
	watchers atomic.Int64
}

func newShredFeed() *shredFeed { return &shredFeed{changed: make(chan struct{})} }

// advance records head and wakes the streams when it changed: grown by a
// shred, or lowered by a database restored from a backup (ADR 0095; the
// shreds it numbers afresh must wake the streams before they pass the old
// head).
func (f *shredFeed) advance(head int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if head != f.head {
		f.head = head
		close(f.changed)
		f.changed = make(chan struct{})
	}
}

// wakeup returns the channel closed at the next advance.
func (f *shredFeed) wakeup() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.changed
}

// noteShred wakes this replica's streams after a shred committed here.
func (s *Service) noteShred(ctx context.Context) {
	head, err := s.o.Store.ShredHead(ctx)
	if err != nil {
		// The poll picks it up within ShredPollInterval.
		s.log.WarnContext(ctx, "tenant shred: could not wake the shred watchers; they learn of it at the next poll", "err", err)
		return
	}
	s.shreds.advance(head)
}

// FollowShreds polls the database for shreds made on other replicas every
// interval while a WatchShreds stream is open here, until ctx ends.
func (s *Service) FollowShreds(ctx context.Context, interval time.Duration) {
	periodic.Every(ctx, interval, func(ctx context.Context) {
		if s.shreds.watchers.Load() == 0 {
			return
		}
		head, err := s.o.Store.ShredHead(ctx)
		if err != nil {
			s.log.WarnContext(ctx, "shred watchers: poll failed", "err", err)
			return
		}
		s.shreds.advance(head)
	})
}

// ShredCursor is where a WatchShreds client resumes: the seq of the last
// message it handled and, when that message named one, the shred's tenant
// and time as it saw them (empty Tenant: not checked, as from clients
// before ADR 0095).
type ShredCursor struct {
	Seq    int64
	Tenant string
	At     time.Time
}

// ShredSink receives a WatchShreds stream's events: a shred, or a resync
// (the caller's cursor is one this database never issued, or issued to
// another shred: it must drop every key and continue from the shred given,
// whose Seq is the new cursor and whose Tenant is empty when there is no
// shred yet).
type ShredSink struct {
	Shred  func(ShredEvent) error
	Resync func(at ShredEvent) error
	// Ready, if set, is called once the start is fixed, before the first
	// event (the server sends its headers then: a client that has them
	// cannot miss a later shred).
	Ready func() error
}

// WatchShreds sends every shred after the cursor, then each new one, until
// ctx ends or out fails (ADR 0084). a is the calling service (mTLS); the
// subscription is audited, and refused when the audit cannot be written.
// A cursor this database does not hold as the client saw it, at the start
// or at any wake-up (the database was restored from a backup while the
// stream was open), is answered with a resync (ADR 0095).
func (s *Service) WatchShreds(ctx context.Context, a Actor, from ShredCursor, out ShredSink) error {
	if from.Seq < 0 {
		return invalid("after_cursor", "must not be negative")
	}
	if a.Caller == "" {
		return &Error{Kind: KindPermissionDenied, Msg: "no calling service"}
	}
	a.Tenant, a.Subject, a.KeyID, a.Roles, a.Scopes = "", "", "", nil, nil
	if err := s.record(ctx, a, audit.Record{Action: "WatchShreds", Result: audit.ResultOK, Detail: fmt.Sprintf("after_cursor=%d", from.Seq)}); err != nil {
		return err
	}
	s.shreds.watchers.Add(1)
	defer s.shreds.watchers.Add(-1)
	head, err := s.o.Store.ShredHead(ctx)
	if err != nil {
		return internal(err)
	}
	s.shreds.advance(head)
	if out.Ready != nil {
		if err := out.Ready(); err != nil {
			return err
		}
	}
	last := from
	for {
		wake := s.shreds.wakeup() // before the read: a shred committed after it wakes us
		if last, err = s.sendShreds(ctx, last, out); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
		}
	}
}

// sendShreds sends what follows last — a resync when the database does not
// hold last as sent, then every shred after it — and returns the new last.
func (s *Service) sendShreds(ctx context.Context, last ShredCursor, out ShredSink) (ShredCursor, error) {
	head, err := s.o.Store.ShredHead(ctx)
	if err != nil {
		return last, internal(err)
	}
	known, err := s.knownCursor(ctx, last, head)
	if err != nil {
		return last, err
	}
	if !known {
		at, _, err := s.o.Store.ShredAt(ctx, head)
		if err != nil {
			return last, internal(err)
		}
		at.Seq = head
		if err := out.Resync(at); err != nil {
			return last, err
		}
		last = ShredCursor{Seq: at.Seq, Tenant: at.Tenant, At: at.ShreddedAt}
	}
	for {
		page, err := s.o.Store.ShredsAfter(ctx, last.Seq, shredPage)
		if err != nil {
			return last, internal(err)
		}
		for _, e := range page {
			if err := out.Shred(e); err != nil {
				return last, err
			}
			last = ShredCursor{Seq: e.Seq, Tenant: e.Tenant, At: e.ShreddedAt}
		}
		if len(page) < shredPage {
			return last, nil
		}
	}
}

// knownCursor reports whether from is a point of this database's shred
// history. A cursor beyond the head was never issued here; one naming
// another shred than the client saw was issued again after a restore from
// a backup (the shreds after the backup were lost and new ones numbered
// the same): either way the client may have missed shreds at or below its
// cursor, so it must resync (ADR 0095).
func (s *Service) knownCursor(ctx context.Context, from ShredCursor, head int64) (bool, error) {
	if from.Seq > head {
		return false, nil
	}
	if from.Seq == 0 || from.Tenant == "" {
		return true, nil
	}
	e, ok, err := s.o.Store.ShredAt(ctx, from.Seq)
	if err != nil {
		return false, internal(err)
	}
	return ok && e.Tenant == from.Tenant && e.ShreddedAt.Equal(from.At), nil
}
