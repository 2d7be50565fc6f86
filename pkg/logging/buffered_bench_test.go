package logging_test

import (
	"io"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rampart-platform/rampart/pkg/logging"
)

// BenchmarkBufferedWriterParallel: 64 goroutines (on two cores) append
// access-log-sized lines to a BufferedWriter (issue 15, ADR 0061): the
// cost of a line includes waiting for the batches' writes. "pipe" only
// appends, to a pipe a goroutine drains at once: the append path's own
// cost under contention. "work+slow-reader" does some CPU work per line
// (~10 µs, a request's order) and sleeps 100 µs in each batch's write, standing for
// a pipe whose reader (`rampart dev`'s log collector, a container runtime)
// is not scheduled at once on a busy machine: the log volume stays below
// what the output takes, so a stall during a write is time every
// goroutine loses (synthetic: it shows the structure, not a stack figure).
func BenchmarkBufferedWriterParallel(b *testing.B) {
	b.Run("pipe", func(b *testing.B) { benchParallel(b, 0, 0) })
	b.Run("work+slow-reader", func(b *testing.B) { benchParallel(b, 4000, 100*time.Microsecond) })
}

// spin burns CPU for n rounds of xorshift; the result keeps it from being
// optimised away.
func spin(n int) uint64 {
	x := uint64(88172645463325252)
	for range n {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}

var sink atomic.Uint64

// slowWriter sleeps before each write.
type slowWriter struct {
	w     io.Writer
	delay time.Duration
}

func (s slowWriter) Write(p []byte) (int, error) {
	time.Sleep(s.delay)
	return s.w.Write(p)
}

func benchParallel(b *testing.B, work int, delay time.Duration) {
	r, w, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	drained := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, r); close(drained) }()
	var out io.Writer = w
	if delay > 0 {
		out = slowWriter{w, delay}
	}
	bw := logging.NewBufferedWriter(out, logging.DefaultFlushDelay, logging.DefaultBufferSize)
	line := []byte(`{"time":"2026-12-06T18:40:00.123456789Z","level":"INFO","msg":"grpc call","service":"inference",` +
		`"request_id":"0123456789abcdef0123456789abcdef","tenant_id":"t_0123456789",` +
		`"method":"/rampart.inference.v1.InferenceService/ChatCompletion","code":"OK","duration_us":1234,` +
		`"caller":"spiffe://rampart.local/svc/edge"}` + "\n")
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	b.SetParallelism(32)
	var stalled atomic.Int64
	cpu0 := cpuTime(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var x uint64
		defer func() { sink.Add(x) }()
		for pb.Next() {
			x += spin(work)
			start := time.Now()
			if _, err := bw.Write(line); err != nil {
				b.Error(err)
				return
			}
			if time.Since(start) > 50*time.Microsecond {
				stalled.Add(1)
			}
		}
	})
	b.StopTimer()
	// The process's CPU per line (appenders, the writes and the pipe's
	// reader): on a shared machine steadier than wall time per line.
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(stalled.Load())/float64(b.N), "stalled/op") // appends that took > 50 µs
	if err := bw.Flush(); err != nil {
		b.Fatal(err)
	}
	_ = w.Close()
	select {
	case <-drained:
	case <-time.After(10 * time.Second):
		b.Fatal("pipe not drained")
	}
	_ = r.Close()
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
