package logging

import (
	"bytes"
	"io"
	"sync"
	"time"
)

// Defaults for NewBufferedWriter as the services use it.
const (
	DefaultFlushDelay = 100 * time.Millisecond
	DefaultBufferSize = 32 << 10
)

// BufferedWriter batches log lines: one write system call per batch instead
// of one per line (issue 15: the access log's write per request, in every
// service a request passes, showed in the profiles; under `rampart dev` each
// also woke the process collecting the logs). Lines reach w at most delay
// after they were written, when size bytes are pending, on Flush, and at
// once — with everything before them — for warnings and errors, so what
// explains a failure is out before the process can die of it. A crash can
// still lose up to delay of info lines. No timer runs while nothing is
// pending, so an idle service does not wake up for its log.
//
// The write to w happens outside the lock that appending takes (double
// buffering, ADR 0061 amendment of 2026-12-06): a flush swaps the pending
// buffer for the spare one and writes the old one unlocked, so the
// request goroutines logging meanwhile append to the other buffer instead
// of all waiting for a 32 KB write(2) to a pipe. At most one flush writes
// at a time (flushing), and a flush takes the buffer only when none is in
// progress, so batches reach w whole and in the order of their lines.
// Memory stays at two buffers: an appender that finds the buffer full
// while the other one is still being written waits for that write.
type BufferedWriter struct {
	w     io.Writer
	delay time.Duration
	size  int

	mu       sync.Mutex
	done     sync.Cond // broadcast (on mu) when a flush swaps buffers and when its write ends
	buf      []byte    // lines not yet taken by a flush
	spare    []byte    // the other buffer, while no flush holds it
	flushing bool      // a flush is writing its buffer, mu not held
	timer    *time.Timer
	armed    bool
	err      error // from a timed flush, returned by the next Write or Flush
}

// NewBufferedWriter returns a BufferedWriter over w.
func NewBufferedWriter(w io.Writer, delay time.Duration, size int) *BufferedWriter {
	b := &BufferedWriter{w: w, delay: delay, size: size}
	b.done.L = &b.mu
	return b
}

var levelKey = []byte(`"level":"`)

// urgent reports whether line is a JSON log record at WARN or above (the
// level follows the time within the first bytes of slog's JSON lines): its
// first 64 bytes hold "level":"WARN or "level":"ERROR. One search for the
// key, then the value's first letters (it was two searches, on every line).
func urgent(line []byte) bool {
	head := line[:min(len(line), 64)]
	for {
		i := bytes.Index(head, levelKey)
		if i < 0 {
			return false
		}
		head = head[i+len(levelKey):]
		if bytes.HasPrefix(head, []byte("ERROR")) || bytes.HasPrefix(head, []byte("WARN")) {
			return true
		}
	}
}

// Write implements io.Writer; p is one log record.
func (b *BufferedWriter) Write(p []byte) (int, error) {
	// Decided before the lock: the scan was a good part of what every
	// other logging goroutine waited for (keyvault's mutex profile at c=16
	// had this lock as its largest wait, ADR 0075); under the lock only the
	// append and the batch's bookkeeping remain.
	flushNow := urgent(p)
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.err; err != nil {
		b.err = nil
		return 0, err
	}
	// Full while the other buffer is still being written: wait until the
	// buffer is swapped out rather than grow without bound. Whoever filled
	// it is in flushLocked, and takes it once the write in progress ends.
	for len(b.buf) > 0 && len(b.buf) >= b.size { // (a size of 0 flushes every line)
		b.done.Wait()
	}
	b.buf = append(b.buf, p...)
	if flushNow || len(b.buf) >= b.size {
		return len(p), b.flushLocked()
	}
	if !b.armed {
		b.armed = true
		if b.timer == nil {
			b.timer = time.AfterFunc(b.delay, b.timed)
		} else {
			b.timer.Reset(b.delay)
		}
	}
	return len(p), nil
}

func (b *BufferedWriter) timed() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.flushLocked(); err != nil {
		b.err = err
	}
}

// Flush writes out everything pending, including a batch another
// goroutine is writing at the time: it returns once all lines written
// before it have reached w.
func (b *BufferedWriter) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	err := b.flushLocked()
	if b.err != nil {
		err, b.err = b.err, nil
	}
	return err
}

// flushLocked writes out the pending buffer; called with mu held, it
// returns with mu held but releases it during the write. When it returns,
// every line appended before the call has reached w: it first waits for a
// flush in progress (whose batch holds the older lines), then writes what
// is pending (possibly nothing, when a flush that ran meanwhile took it).
func (b *BufferedWriter) flushLocked() error {
	for b.flushing {
		b.done.Wait()
	}
	b.armed = false
	if b.timer != nil {
		b.timer.Stop()
	}
	if len(b.buf) == 0 {
		return nil
	}
	out := b.buf
	b.buf, b.spare = b.spare[:0], nil
	b.flushing = true
	b.done.Broadcast() // appenders waiting for room have it now
	b.mu.Unlock()
	_, err := b.w.Write(out)
	b.mu.Lock()
	b.flushing = false
	if cap(out) <= 4*b.size { // one burst must not pin a large buffer
		b.spare = out[:0]
	}
	b.done.Broadcast()
	return err
}
