package openai

import (
	"context"
	"sync/atomic"

	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
)

// A stream's messages after the first are received on a goroutine of their
// own (receive). A new goroutine starts with a small stack, and grpc-go's
// receive path is deeper than it: about every second stream copied its
// receiver's stack once (runtime.newstack → copystack, ~13,000
// instructions each, ~6,000 per stream; issue 15, ADR 0100). A receiver
// that finished a stream therefore waits for the next one instead of
// exiting, its grown stack kept, as grpc-go's server does with
// NumStreamWorkers; at most maxIdleReceivers wait, any more exit. The
// collector halves an idle receiver's stack now and then (it uses little
// of it while it waits), so an idle edge keeps no large stacks.

// recvStream is what a receiver reads (grpc.ServerStreamingClient's RecvMsg).
type recvStream interface{ RecvMsg(any) error }

// recvJob is one stream to receive: its messages go to out, which is
// closed when the stream or ctx ends.
type recvJob struct {
	ctx context.Context
	st  recvStream
	out chan<- received
}

// maxIdleReceivers bounds the receivers kept waiting (each holds its stack,
// a few KiB to a few tens of KiB).
const maxIdleReceivers = 64

var (
	// receivers hands a job to a waiting receiver (unbuffered: a send
	// succeeds only when one waits).
	receivers = make(chan recvJob)
	// idleReceivers counts the receivers waiting on receivers.
	idleReceivers atomic.Int32
)

// startReceiving gives j to a waiting receiver, or to a new one when none
// waits.
func startReceiving(j recvJob) {
	select {
	case receivers <- j:
	default:
		go receiver(j)
	}
}

// receiver runs j, then waits for the next job, unless maxIdleReceivers
// already wait.
func receiver(j recvJob) {
	for {
		j.run()
		j = recvJob{} // hold no stream while waiting
		if idleReceivers.Add(1) > maxIdleReceivers {
			idleReceivers.Add(-1)
			return
		}
		j = <-receivers
		idleReceivers.Add(-1)
	}
}

// run delivers the stream's messages until it ends (the last item carries
// the error) or ctx does, then closes out.
func (j recvJob) run() {
	defer close(j.out)
	for {
		m := new(inferencev1.StreamChatCompletionResponse)
		err := j.st.RecvMsg(m)
		// The channel has room nearly always: a non-blocking send first
		// (no select over two channels, ~450 instructions per message,
		// issue 15), the select only when the handler lags behind.
		select {
		case j.out <- received{m, err}:
		default:
			select {
			case j.out <- received{m, err}:
			case <-j.ctx.Done():
				return
			}
		}
		if err != nil {
			return
		}
	}
}
