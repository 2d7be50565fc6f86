package openai

import (
	"bytes"
	"context"
	"io"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// goroutineStream answers n messages, then io.EOF, and records the id of
// the goroutine each RecvMsg ran on; block, when set, holds every call
// until it is closed.
type goroutineStream struct {
	n     int
	block chan struct{}
	mu    sync.Mutex
	ids   []string
}

func (s *goroutineStream) RecvMsg(any) error {
	if s.block != nil {
		<-s.block
	}
	buf := make([]byte, 64)
	id, _, _ := bytes.Cut(buf[:runtime.Stack(buf, false)], []byte(" ["))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ids = append(s.ids, string(id))
	if len(s.ids) > s.n {
		return io.EOF
	}
	return nil
}

// drain reads out until it is closed and returns the items.
func drain(out <-chan received) []received {
	var got []received
	for rm := range out {
		got = append(got, rm)
	}
	return got
}

// TestReceiverIsReused: a stream started after another one ended is
// received by a waiting receiver (its stack kept), not by a new goroutine,
// and each stream's messages arrive in order on one goroutine, ending with
// io.EOF.
func TestReceiverIsReused(t *testing.T) {
	first := &goroutineStream{n: 3}
	got := drain(receive(context.Background(), first))
	require.Len(t, got, 4)
	require.ErrorIs(t, got[3].err, io.EOF)
	// The receiver counts itself idle after closing out; wait for it.
	require.Eventually(t, func() bool { return idleReceivers.Load() > 0 }, 5*time.Second, time.Millisecond)
	idle := idleReceivers.Load()
	second := &goroutineStream{n: 2, block: make(chan struct{})}
	out := receive(context.Background(), second)
	// A receiver counts itself busy once it woke with the job.
	require.Eventually(t, func() bool { return idleReceivers.Load() == idle-1 }, 5*time.Second, time.Millisecond,
		"a waiting receiver took the stream")
	close(second.block)
	got = drain(out)
	require.Len(t, got, 3)
	require.ErrorIs(t, got[2].err, io.EOF)
	for _, st := range []*goroutineStream{first, second} {
		for _, id := range st.ids {
			require.Equal(t, st.ids[0], id, "every RecvMsg of a stream on one receiver")
		}
	}
}

// TestReceiverStopsWithContext: a stream whose context ends while its
// receiver waits to deliver closes out without the stream's last item.
func TestReceiverStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	st := &goroutineStream{n: 1000}
	out := receive(ctx, st)
	<-out // the receiver now blocks on the full channel after 8 more
	require.Eventually(t, func() bool { return len(out) == cap(out) }, 5*time.Second, time.Millisecond)
	cancel()
	got := drain(out)
	// The buffered items and maybe a few more (the receiver's select may
	// deliver once drain made room), then closed long before the stream's
	// end.
	require.GreaterOrEqual(t, len(got), cap(out))
	require.Less(t, len(got), st.n)
	for _, rm := range got {
		require.NoError(t, rm.err)
	}
}

// TestIdleReceiversBounded: after more streams at once than
// maxIdleReceivers, at most maxIdleReceivers receivers stay waiting.
func TestIdleReceiversBounded(t *testing.T) {
	block := make(chan struct{})
	outs := make([]<-chan received, maxIdleReceivers+16)
	for i := range outs {
		outs[i] = receive(context.Background(), &goroutineStream{n: 1, block: block})
	}
	close(block)
	for _, out := range outs {
		require.Len(t, drain(out), 2)
	}
	require.Eventually(t, func() bool { return idleReceivers.Load() == maxIdleReceivers }, 5*time.Second, time.Millisecond)
	require.LessOrEqual(t, int(idleReceivers.Load()), maxIdleReceivers)
}
