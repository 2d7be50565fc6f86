package logging_test

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/logging"
)

// checkingWriter records writes and fails the test if two overlap; some
// writes sleep a little so that appends and flushes overlap them.
type checkingWriter struct {
	t        *testing.T
	inFlight atomic.Int32
	mu       sync.Mutex
	out      bytes.Buffer
	sizes    []int
}

func (c *checkingWriter) Write(p []byte) (int, error) {
	if c.inFlight.Add(1) != 1 {
		c.t.Error("two writes to the output overlap")
	}
	defer c.inFlight.Add(-1)
	c.mu.Lock()
	n := len(c.sizes)
	c.out.Write(p)
	c.sizes = append(c.sizes, len(p))
	c.mu.Unlock()
	if n%7 == 0 {
		time.Sleep(100 * time.Microsecond)
	}
	return len(p), nil
}

// TestBufferedWriterConcurrent: many goroutines' lines (info lines and
// some warnings, with the timer flushing too) all arrive whole, once, and
// in each goroutine's order; Flush writes out the rest; no batch exceeds
// the buffer size by more than one line (appenders wait for room).
func TestBufferedWriterConcurrent(t *testing.T) {
	const (
		goroutines = 32
		lines      = 300
		size       = 2 << 10
	)
	cw := &checkingWriter{t: t}
	bw := logging.NewBufferedWriter(cw, time.Millisecond, size)
	maxLine := 0
	line := func(g, i int) string {
		level := "INFO"
		if i%50 == 49 {
			level = "WARN" // written at once, with everything before it
		}
		return fmt.Sprintf(`{"level":"%s","g":%d,"i":%d,"pad":"%s"}`+"\n", level, g, i, strings.Repeat("x", (g*i)%97))
	}
	for g := range goroutines {
		for i := range lines {
			maxLine = max(maxLine, len(line(g, i)))
		}
	}
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range lines {
				l := line(g, i)
				n, err := bw.Write([]byte(l))
				if err != nil || n != len(l) {
					t.Errorf("write %d/%d: n=%d err=%v", g, i, n, err)
					return
				}
			}
		})
	}
	wg.Wait()
	require.NoError(t, bw.Flush())

	cw.mu.Lock()
	defer cw.mu.Unlock()
	for _, n := range cw.sizes {
		require.LessOrEqual(t, n, size+maxLine, "an appender waits instead of growing a full buffer")
	}
	next := make([]int, goroutines)
	sc := bufio.NewScanner(&cw.out)
	total := 0
	for sc.Scan() {
		var level, pad string
		var g, i int
		_, err := fmt.Sscanf(sc.Text(), `{"level":%q,"g":%d,"i":%d,"pad":%q}`, &level, &g, &i, &pad)
		require.NoError(t, err, "a whole line: %q", sc.Text())
		require.Equal(t, line(g, i), sc.Text()+"\n")
		require.Equal(t, next[g], i, "goroutine %d's lines in order", g)
		next[g]++
		total++
	}
	require.NoError(t, sc.Err())
	require.Equal(t, goroutines*lines, total, "every line written exactly once")
}

// blockingWriter blocks every Write until released, like a pipe nobody
// reads.
type blockingWriter struct {
	entered chan struct{}
	release chan struct{}
	mu      sync.Mutex
	writes  []string
}

func newBlockingWriter() *blockingWriter {
	return &blockingWriter{entered: make(chan struct{}, 16), release: make(chan struct{})}
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	w.entered <- struct{}{}
	<-w.release
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes = append(w.writes, string(p))
	return len(p), nil
}

// returnsSoon runs f and reports whether it returned within d.
func returnsSoon(f func(), d time.Duration) (chan struct{}, bool) {
	done := make(chan struct{})
	go func() { f(); close(done) }()
	select {
	case <-done:
		return done, true
	case <-time.After(d):
		return done, false
	}
}

// TestBufferedWriterAppendDoesNotWaitForWrite: while a flush is stuck in a
// slow write, lines are still appended at once; Flush waits for that
// write and then writes the lines appended meanwhile; once the second
// buffer is full too, appenders wait for the write to end.
func TestBufferedWriterAppendDoesNotWaitForWrite(t *testing.T) {
	const size = 256
	bw := newBlockingWriter()
	w := logging.NewBufferedWriter(bw, time.Hour, size)
	warn := `{"level":"WARN","msg":"first"}` + "\n"
	info := `{"level":"INFO","msg":"second"}` + "\n"

	warnDone := make(chan error, 1)
	go func() { _, err := w.Write([]byte(warn)); warnDone <- err }()
	<-bw.entered // the warning's flush is in its write now

	_, ok := returnsSoon(func() { _, err := w.Write([]byte(info)); require.NoError(t, err) }, 10*time.Second)
	require.True(t, ok, "an append does not wait for the write in progress")

	flushed, ok := returnsSoon(func() { require.NoError(t, w.Flush()) }, 50*time.Millisecond)
	require.False(t, ok, "Flush waits for the write in progress")

	// The line that fills the second buffer has to flush it, which waits
	// for the write in progress; the line after it finds no room and waits
	// too: memory stays at two buffers.
	filler := `{"level":"INFO","msg":"` + strings.Repeat("f", size) + `"}` + "\n"
	filled, ok := returnsSoon(func() { _, err := w.Write([]byte(filler)); require.NoError(t, err) }, 50*time.Millisecond)
	require.False(t, ok, "a full buffer's flush waits for the write in progress")
	third := `{"level":"INFO","msg":"third"}` + "\n"
	waited, ok := returnsSoon(func() { _, err := w.Write([]byte(third)); require.NoError(t, err) }, 50*time.Millisecond)
	require.False(t, ok, "with both buffers taken an appender waits")

	close(bw.release) // every write from now on goes through
	require.NoError(t, <-warnDone)
	<-flushed
	<-filled
	<-waited
	require.NoError(t, w.Flush())
	bw.mu.Lock()
	defer bw.mu.Unlock()
	require.Equal(t, warn, bw.writes[0], "the warning's batch is written alone, first")
	require.Equal(t, []string{warn, info + filler, third}, bw.writes,
		"then the lines appended during its write, in order, in one batch; the waiting line last")
}
