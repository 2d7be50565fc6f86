package events

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/rampart-platform/rampart/services/auth/internal/store"
)

// Feed intervals. Revocations appended in this process ring the Hub at
// once; these bound how late an event appended by another process (another
// replica, or this one's own missed doorbell) reaches the watchers here.
const (
	// PollInterval: SQLite, and PostgreSQL while LISTEN is not in place.
	PollInterval = 250 * time.Millisecond
	// ListenSafetyInterval: PostgreSQL with LISTEN in place. Notifications
	// make delivery immediate; the poll covers a listening connection that
	// died without an error, so the bound stays under a second.
	ListenSafetyInterval = 750 * time.Millisecond
	// relistenInterval: how soon a failed LISTEN is tried again.
	relistenInterval = 5 * time.Second
)

// headSource is what the Feed reads: the store (an interface so the tests
// can count the queries an idle process runs).
type headSource interface {
	EventHead(ctx context.Context) (int64, error)
	ListenEvents(ctx context.Context, listening, notify func()) error
}

// Feed is the one process-wide watcher of the event log: it rings the Hub
// when the log's head moves, however it moved. The stream watchers
// themselves ([Watch]) only wait on the Hub, so an idle auth process runs
// one cheap prepared query per interval instead of one query per open
// stream per interval (five streams under `rampart dev`, ~0.8 % of a core).
type Feed struct {
	src  headSource
	hub  *Hub
	log  *slog.Logger
	poll time.Duration
	safe time.Duration
	// listening is true while LISTEN/NOTIFY delivers (PostgreSQL).
	listening atomic.Bool
}

// Listening reports whether LISTEN/NOTIFY is in effect: events then reach
// the Hub at commit rather than at the next poll.
func (f *Feed) Listening() bool { return f.listening.Load() }

// NewFeed returns a Feed over db ringing hub.
func NewFeed(db *store.DB, hub *Hub, log *slog.Logger) *Feed {
	return newFeed(db, hub, log)
}

func newFeed(src headSource, hub *Hub, log *slog.Logger) *Feed {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Feed{src: src, hub: hub, log: log, poll: PollInterval, safe: ListenSafetyInterval}
}

// Run follows the log until ctx ends: LISTEN/NOTIFY on PostgreSQL (with a
// slower safety poll of the head), a poll of the head elsewhere. Its own
// ticker, not pkg/periodic: the interval follows the LISTEN state and three
// channels do different work (ADR 0136).
func (f *Feed) Run(ctx context.Context) {
	var last int64
	if h, err := f.src.EventHead(ctx); err == nil {
		last = h
	}
	// An event appended between a watcher's own first read and this
	// baseline moved no head this Feed will ever see change: wake the
	// watchers once so they read it.
	f.hub.Notify()
	listening := make(chan bool, 1) // the listener's state changes
	notified := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); f.listen(ctx, listening, notified) }()
	// The listener ends before Run returns: the store closes after the loops.
	defer func() { cancel(); <-done }()
	interval := f.poll
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case on := <-listening:
			f.listening.Store(on)
			interval = f.poll
			if on {
				interval = f.safe
				// Anything appended before the LISTEN took effect is only
				// visible to a read: wake the watchers once.
				f.hub.Notify()
			}
			t.Reset(interval)
		case <-notified:
			f.hub.Notify()
			if h, err := f.src.EventHead(ctx); err == nil {
				last = max(last, h)
			}
		case <-t.C:
			h, err := f.src.EventHead(ctx)
			if err != nil {
				if ctx.Err() == nil {
					f.log.Warn("event feed: read the log head", "err", err)
				}
				continue
			}
			if h != last {
				last = h
				f.hub.Notify()
			}
		}
	}
}

// listen keeps a LISTEN in place, reporting each state change on state and
// each notification on notified (coalesced). It returns at once on a
// dialect without notifications.
func (f *Feed) listen(ctx context.Context, state chan bool, notified chan<- struct{}) {
	set := func(on bool) {
		select {
		case <-state: // drop a stale state: the latest wins
		default:
		}
		state <- on
	}
	for {
		err := f.src.ListenEvents(ctx,
			func() { set(true) },
			func() {
				select {
				case notified <- struct{}{}:
				default:
				}
			})
		if errors.Is(err, store.ErrNoListen) || ctx.Err() != nil {
			return
		}
		set(false)
		f.log.Warn("event feed: LISTEN failed; polling until it is back", "err", err, "retry_in", relistenInterval)
		select {
		case <-ctx.Done():
			return
		case <-time.After(relistenInterval):
		}
	}
}
