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
type BufferedWriter struct {
	w     io.Writer
	delay time.Duration
	size  int

	mu    sync.Mutex
	buf   []byte
	timer *time.Timer
	armed bool
	err   error // from a timed flush, returned by the next Write or Flush
}

// NewBufferedWriter returns a BufferedWriter over w.
func NewBufferedWriter(w io.Writer, delay time.Duration, size int) *BufferedWriter {
	return &BufferedWriter{w: w, delay: delay, size: size}
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
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.err; err != nil {
		b.err = nil
		return 0, err
	}
	b.buf = append(b.buf, p...)
	if len(b.buf) >= b.size || urgent(p) {
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

// Flush writes out everything pending.
func (b *BufferedWriter) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	err := b.flushLocked()
	if b.err != nil {
		err, b.err = b.err, nil
	}
	return err
}

func (b *BufferedWriter) flushLocked() error {
	b.armed = false
	if b.timer != nil {
		b.timer.Stop()
	}
	if len(b.buf) == 0 {
		return nil
	}
	_, err := b.w.Write(b.buf)
	if cap(b.buf) > 4*b.size { // one burst must not pin a large buffer
		b.buf = nil
	} else {
		b.buf = b.buf[:0]
	}
	return err
}
