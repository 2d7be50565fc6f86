package store

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Recorder writes records in batches from one goroutine.
//
// Records wait in a slice under a mutex, not in a channel: a send on a
// channel whose reader is parked wakes that reader, and the writer spends
// nearly all its time parked between records, so every request paid a
// goroutine wake-up and a trip through the scheduler for its usage record
// (issue 15, ADR 0060). Now a request appends under the lock, and the
// writer is woken once per batch window (the first record after an idle
// spell), when a batch is full, and for Flush and Close.
type Recorder struct {
	s   *Store
	log *slog.Logger

	mu      sync.Mutex
	notFull *sync.Cond // signalled when the writer takes records out
	queue   []Record   // waiting for the writer, oldest first; never more than queueLen
	flushes []chan struct{}
	closed  bool

	wake chan struct{} // capacity 1: a nudge for the writer
	done chan struct{}
}

// maxBatch bounds one transaction.
const maxBatch = 512

// batchWindow is how long the writer gathers records before a transaction.
// At 20 ms a chat load of a few thousand requests per second ran 50–150
// transactions a second, and each re-prepared the multi-row INSERT on the
// transaction's connection: the recorder took 6–9 % of inference's CPU
// (issue 15). At 100 ms it is one transaction of up to maxBatch rows per
// window. The cost is the crash window (ADR 0038): a process killed
// without a graceful stop loses what it queued in the last window (plus
// whatever waited behind a slow write); a graceful stop (Close) writes
// everything, and Flush (quota checks, usage reads) writes at once.
const batchWindow = 100 * time.Millisecond

// queueLen is how many records may wait for the writer before Record
// blocks: four full batches, ~200 ms of a 10,000 requests/s load behind a
// slow write. The queue's memory stays resident once a burst has cycled
// through it; 8,192 records kept 1 MB in an idle process (ADR 0056).
const queueLen = 4 * maxBatch

// NewRecorder starts the writer.
func NewRecorder(s *Store, log *slog.Logger) *Recorder {
	r := &Recorder{s: s, log: log, queue: make([]Record, 0, queueLen), wake: make(chan struct{}, 1), done: make(chan struct{})}
	r.notFull = sync.NewCond(&r.mu)
	go r.loop()
	return r
}

// Record queues rec; it blocks only when the queue is full (back-pressure:
// usage is billing data and is never dropped). Record after Close panics,
// as the send on the closed channel it replaced did.
func (r *Recorder) Record(rec Record) {
	r.mu.Lock()
	for len(r.queue) >= queueLen && !r.closed {
		r.notFull.Wait()
	}
	if r.closed {
		r.mu.Unlock()
		panic("store: Recorder.Record after Close")
	}
	r.queue = append(r.queue, rec)
	n := len(r.queue)
	r.mu.Unlock()
	// The first record opens a batch window; a full batch ends it early.
	// In between the writer is asleep on its timer and is not disturbed.
	if n == 1 || n == maxBatch {
		r.nudge()
	}
}

// nudge wakes the writer if it is not already due to wake.
func (r *Recorder) nudge() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Flush returns once everything queued before the call is written.
func (r *Recorder) Flush(ctx context.Context) error {
	ack := make(chan struct{})
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		select {
		case <-r.done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	r.flushes = append(r.flushes, ack)
	r.mu.Unlock()
	r.nudge()
	select {
	case <-ack:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close writes what is queued and stops the writer.
func (r *Recorder) Close() {
	r.mu.Lock()
	r.closed = true
	r.notFull.Broadcast()
	r.mu.Unlock()
	r.nudge()
	<-r.done
}

// urgent reports whether the writer must write now: a full batch, a
// Flush waiting, or Close.
func (r *Recorder) urgent() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.queue) >= maxBatch || len(r.flushes) > 0 || r.closed
}

// take moves up to maxBatch of the oldest queued records into batch and
// returns it, with how many are still queued, the Flush acks waiting
// (taken only when want is set) and whether Close was called.
func (r *Recorder) take(batch []Record, wantAcks bool) ([]Record, int, []chan struct{}, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := min(len(r.queue), maxBatch)
	batch = append(batch[:0], r.queue[:n]...)
	left := copy(r.queue, r.queue[n:])
	clear(r.queue[left:]) // no strings kept alive behind the slice's end
	r.queue = r.queue[:left]
	if n > 0 {
		r.notFull.Broadcast()
	}
	var acks []chan struct{}
	if wantAcks {
		acks, r.flushes = r.flushes, nil
	}
	return batch, left, acks, r.closed
}

func (r *Recorder) loop() {
	defer close(r.done)
	batch := make([]Record, 0, maxBatch)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		if !r.urgent() {
			r.mu.Lock()
			empty := len(r.queue) == 0
			r.mu.Unlock()
			if empty {
				<-r.wake // idle until the first record, a Flush or Close
			}
			// Gather for up to batchWindow (or until a batch is full, a
			// Flush or Close): one transaction per window instead of one
			// per request.
			timer.Reset(batchWindow)
		gather:
			for !r.urgent() {
				select {
				case <-timer.C:
					break gather
				case <-r.wake:
				}
			}
			timer.Stop()
		}
		var (
			left   int
			acks   []chan struct{}
			closed bool
		)
		batch, left, acks, closed = r.take(batch, true)
		r.write(batch)
		// A Flush (or Close) writes everything queued when it was seen,
		// in transactions of up to maxBatch records.
		if len(acks) > 0 || closed {
			for left > 0 {
				batch, left, _, _ = r.take(batch, false)
				r.write(batch)
			}
		}
		for _, ack := range acks {
			close(ack)
		}
		if closed && left == 0 && r.drained() {
			return
		}
	}
}

// drained reports whether nothing is queued and no Flush waits.
func (r *Recorder) drained() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.queue) == 0 && len(r.flushes) == 0
}

// write stores batch in one transaction, retried twice.
func (r *Recorder) write(batch []Record) {
	if len(batch) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for attempt := 0; ; attempt++ {
		err := r.s.Insert(ctx, batch)
		if err == nil {
			return
		}
		if attempt == 2 {
			r.log.Error("usage records lost after retries", "count", len(batch), "err", err)
			return
		}
		r.log.Warn("write usage records", "err", err)
		time.Sleep(100 * time.Millisecond << attempt)
	}
}
