package vault

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

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

// advance records head and wakes the streams when it is new.
func (f *shredFeed) advance(head int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if head > f.head {
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
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if s.shreds.watchers.Load() == 0 {
			continue
		}
		head, err := s.o.Store.ShredHead(ctx)
		if err != nil {
			s.log.WarnContext(ctx, "shred watchers: poll failed", "err", err)
			continue
		}
		s.shreds.advance(head)
	}
}

// ShredSink receives a WatchShreds stream's events: a shred, or a resync
// (the caller's cursor is one this database never issued: it must drop
// every key and continue from cursor).
type ShredSink struct {
	Shred  func(ShredEvent) error
	Resync func(cursor int64) error
	// Ready, if set, is called once the start is fixed, before the first
	// event (the server sends its headers then: a client that has them
	// cannot miss a later shred).
	Ready func() error
}

// WatchShreds sends every shred after the cursor, then each new one, until
// ctx ends or out fails (ADR 0084). a is the calling service (mTLS); the
// subscription is audited, and refused when the audit cannot be written.
func (s *Service) WatchShreds(ctx context.Context, a Actor, after int64, out ShredSink) error {
	if after < 0 {
		return invalid("after_cursor", "must not be negative")
	}
	if a.Caller == "" {
		return &Error{Kind: KindPermissionDenied, Msg: "no calling service"}
	}
	a.Tenant, a.Subject, a.KeyID, a.Roles, a.Scopes = "", "", "", nil, nil
	if err := s.record(ctx, a, audit.Record{Action: "WatchShreds", Result: audit.ResultOK, Detail: fmt.Sprintf("after_cursor=%d", after)}); err != nil {
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
	if after > head {
		if err := out.Resync(head); err != nil {
			return err
		}
		after = head
	}
	for {
		wake := s.shreds.wakeup() // before the read: a shred committed after it wakes us
		for {
			page, err := s.o.Store.ShredsAfter(ctx, after, shredPage)
			if err != nil {
				return internal(err)
			}
			for _, e := range page {
				if err := out.Shred(e); err != nil {
					return err
				}
				after = e.Seq
			}
			if len(page) < shredPage {
				break
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
		}
	}
}
