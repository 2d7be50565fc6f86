package audit

import (
	"context"
	"fmt"
	"sync"

	"github.com/rampart-platform/rampart/services/keyvault/internal/store"
)

// Chain is an append-only hash chain of records shared by every replica
// (keyvault's store on PostgreSQL).
type Chain interface {
	// AppendAuditBatch appends the records, in order, in one transaction:
	// all of them are committed or none.
	AppendAuditBatch(ctx context.Context, recs []store.AuditAppend) (int64, error)
}

// MaxChainBatch bounds the records one chain transaction appends.
const MaxChainBatch = 256

// ChainSink writes records as links of a [Chain], group-committed: records
// written while a transaction is in flight queue up and the next
// transaction appends all of them (up to [MaxChainBatch]) under one lock of
// the chain head and one commit. Write returns nil only once the
// transaction holding its record has committed, and every caller of a
// failed transaction gets the error — so the fail-closed rule of the file
// sink holds, with several replicas writing one linear log, at one commit
// per batch instead of one per record (ADR 0039).
type ChainSink struct {
	c Chain

	mu      sync.Mutex
	queue   []chainPending
	wake    chan struct{}
	closed  bool
	stopped chan struct{}
}

type chainPending struct {
	rec  store.AuditAppend
	done chan error
}

// NewChainSink returns a sink appending to c. Close it to stop its writer.
func NewChainSink(c Chain) *ChainSink {
	s := &ChainSink{c: c, wake: make(chan struct{}, 1), stopped: make(chan struct{})}
	go s.loop()
	return s
}

// Write implements Sink.
func (s *ChainSink) Write(_ context.Context, r Record) error {
	line, err := encode(r)
	if err != nil {
		return err
	}
	p := chainPending{rec: store.AuditAppend{At: r.Time, Tenant: r.Tenant, Record: line}, done: make(chan error, 1)}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.queue = append(s.queue, p)
	select { // under mu, so Close cannot close wake in between
	case s.wake <- struct{}{}:
	default:
	}
	s.mu.Unlock()
	// Queued: wait for the outcome even if the caller gives up, so a
	// request whose link may or may not exist is never reported either way.
	return <-p.done
}

func (s *ChainSink) loop() {
	defer close(s.stopped)
	for range s.wake {
		for s.appendQueued() {
		}
	}
}

// appendQueued appends up to MaxChainBatch queued records in one
// transaction and releases their callers; false when nothing was queued.
func (s *ChainSink) appendQueued() bool {
	s.mu.Lock()
	n := min(len(s.queue), MaxChainBatch)
	batch := s.queue[:n:n]
	s.queue = s.queue[n:]
	if len(s.queue) == 0 {
		s.queue = nil
	}
	s.mu.Unlock()
	if n == 0 {
		return false
	}
	recs := make([]store.AuditAppend, n)
	for i, p := range batch {
		recs[i] = p.rec
	}
	// The append must finish even if every caller has gone: its outcome
	// is what they are waiting for. The store's statement timeout bounds it.
	_, err := s.c.AppendAuditBatch(context.Background(), recs)
	if err != nil {
		err = fmt.Errorf("audit: append: %w", err)
	}
	for _, p := range batch {
		p.done <- err
	}
	return true
}

// Close appends what is queued, then stops the writer; later writes get
// ErrClosed.
func (s *ChainSink) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.wake)
	<-s.stopped
	for s.appendQueued() {
	}
	return nil
}
