package store

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Recorder writes records in batches from one goroutine.
type Recorder struct {
	s     *Store
	log   *slog.Logger
	in    chan Record
	flush chan chan struct{}
	done  chan struct{}
	once  sync.Once
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
	r := &Recorder{s: s, log: log, in: make(chan Record, queueLen), flush: make(chan chan struct{}), done: make(chan struct{})}
	go r.loop()
	return r
}

// Record queues r; it blocks only when the queue is full (back-pressure:
// usage is billing data and is never dropped).
func (r *Recorder) Record(rec Record) { r.in <- rec }

// Flush returns once everything queued before the call is written.
func (r *Recorder) Flush(ctx context.Context) error {
	ack := make(chan struct{})
	select {
	case r.flush <- ack:
	case <-ctx.Done():
		return ctx.Err()
	case <-r.done:
		return nil
	}
	select {
	case <-ack:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close writes what is queued and stops the writer.
func (r *Recorder) Close() {
	r.once.Do(func() { close(r.in) })
	<-r.done
}

func (r *Recorder) loop() {
	defer close(r.done)
	batch := make([]Record, 0, maxBatch)
	write := func() {
		if len(batch) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for attempt := 0; ; attempt++ {
			err := r.s.Insert(ctx, batch)
			if err == nil {
				break
			}
			if attempt == 2 {
				r.log.Error("usage records lost after retries", "count", len(batch), "err", err)
				break
			}
			r.log.Warn("write usage records", "err", err)
			time.Sleep(100 * time.Millisecond << attempt)
		}
		batch = batch[:0]
	}
	for {
		select {
		case rec, ok := <-r.in:
			if !ok {
				write()
				return
			}
			batch = append(batch, rec)
			// Gather for up to batchWindow (or a full batch): one
			// transaction per window instead of one per request.
			timer := time.NewTimer(batchWindow)
		gather:
			for len(batch) < maxBatch {
				select {
				case rec, ok := <-r.in:
					if !ok {
						timer.Stop()
						write()
						return
					}
					batch = append(batch, rec)
				case <-timer.C:
					break gather
				case ack := <-r.flush:
					r.drainInto(&batch, write)
					write()
					close(ack)
				}
			}
			timer.Stop()
			write()
		case ack := <-r.flush:
			r.drainInto(&batch, write)
			write()
			close(ack)
		}
	}
}

// drainInto moves what is queued into batch, writing full batches.
func (r *Recorder) drainInto(batch *[]Record, write func()) {
	for {
		select {
		case rec, ok := <-r.in:
			if !ok {
				return
			}
			*batch = append(*batch, rec)
			if len(*batch) >= maxBatch {
				write()
			}
		default:
			return
		}
	}
}
