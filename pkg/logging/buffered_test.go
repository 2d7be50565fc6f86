package logging_test

import (
	"bytes"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/logging"
)

// countingWriter records each Write call separately.
type countingWriter struct {
	mu     sync.Mutex
	writes [][]byte
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes = append(c.writes, bytes.Clone(p))
	return len(p), nil
}

func (c *countingWriter) snapshot() (int, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.writes), string(bytes.Join(c.writes, nil))
}

func TestBufferedWriter(t *testing.T) {
	tests := []struct {
		name       string
		log        func(l *slog.Logger)
		size       int
		wantWrites int    // before any timer fires
		wantText   string // in what was written so far
		last       string // written once flushed
	}{
		{"info lines wait for the batch", func(l *slog.Logger) { l.Info("a"); l.Info("b") }, 1 << 20, 0, "", "b"},
		{"a warning flushes everything before it", func(l *slog.Logger) { l.Info("a"); l.Warn("w") }, 1 << 20, 1, `"msg":"a"`, "w"},
		{"an error flushes", func(l *slog.Logger) { l.Error("e") }, 1 << 20, 1, `"msg":"e"`, "e"},
		{"a full buffer flushes", func(l *slog.Logger) { l.Info("a"); l.Info("b") }, 10, 2, `"msg":"b"`, "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cw := &countingWriter{}
			bw := logging.NewBufferedWriter(cw, time.Hour, tt.size)
			tt.log(logging.New(bw, slog.LevelInfo))
			n, text := cw.snapshot()
			require.Equal(t, tt.wantWrites, n)
			require.Contains(t, text, tt.wantText)
			require.NoError(t, bw.Flush())
			_, text = cw.snapshot()
			require.Contains(t, text, `"msg":"`+tt.last+`"`, "nothing is left behind by Flush")
		})
	}
}

func TestBufferedWriterTimedFlush(t *testing.T) {
	cw := &countingWriter{}
	bw := logging.NewBufferedWriter(cw, 20*time.Millisecond, 1<<20)
	l := logging.New(bw, slog.LevelInfo)
	l.Info("a")
	l.Info("b")
	require.Eventually(t, func() bool { n, _ := cw.snapshot(); return n == 1 }, 30*time.Second, 5*time.Millisecond,
		"both lines go out in one write after the delay")
	_, text := cw.snapshot()
	require.Contains(t, text, `"msg":"a"`)
	require.Contains(t, text, `"msg":"b"`)
	l.Info("c")
	require.Eventually(t, func() bool { n, _ := cw.snapshot(); return n == 2 }, 30*time.Second, 5*time.Millisecond,
		"the timer re-arms for the next line")
}
