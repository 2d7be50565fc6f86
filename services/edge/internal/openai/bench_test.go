package openai_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	"github.com/rampart-platform/rampart/pkg/inferencetest"
	"github.com/rampart-platform/rampart/pkg/logging"
	"github.com/rampart-platform/rampart/pkg/principal"
)

// The edge's share of the headline path (docs/performance.md "inference"):
// the same chat bodies, in the same run, sent as gRPC calls straight to the
// inference double (the edge's own mTLS connection, the caller's
// assertion) and as HTTP requests through the edge's OpenAI handlers to it.
// Reported: added latency (edge minus direct) at p50/p99 over b.N
// sequential requests (make bench uses 2000), throughput at concurrency 16
// and 64 for a bounded time (RAMPART_BENCH_DURATION, default 5s), errors,
// and the edge's CPU time per request (process CPU through the edge minus
// direct, from getrusage; client and double run in both). The whole path
// with the real inference and an upstream runs as separate processes in
// make bench-stack (tests/e2e/benchstack).

const benchChat = `{"model":"echo","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Say hello to the benchmark in a few words please."}],"max_tokens":64,"temperature":0.2}`

const benchStream = `{"model":"echo","stream":true,"messages":[{"role":"user","content":"Say hello to the benchmark in a few words please."}],"max_tokens":64}`

const benchResponsesStream = `{"model":"echo","stream":true,"input":"Say hello to the benchmark in a few words please.","max_output_tokens":64}`

// route is one benchmarked request: the path and body through the edge,
// the same body and format sent directly.
type route struct {
	path, body string
	format     inferencev1.RequestFormat
	stream     bool
}

var (
	chatRoute   = route{"/v1/chat/completions", benchChat, inferencev1.RequestFormat_REQUEST_FORMAT_UNSPECIFIED, false}
	chatStream  = route{"/v1/chat/completions", benchStream, inferencev1.RequestFormat_REQUEST_FORMAT_UNSPECIFIED, true}
	respStreamR = route{"/v1/responses", benchResponsesStream, inferencev1.RequestFormat_REQUEST_FORMAT_RESPONSES, true}
)

// responsesEvents scripts the double's Responses stream: the events of a
// short answer, as many and as large as inference sends for one.
func responsesEvents(c *inferencetest.Call) inferencetest.Answer {
	if c.Format != inferencev1.RequestFormat_REQUEST_FORMAT_RESPONSES {
		return inferencetest.Echo(c)
	}
	var evs []*inferencev1.StreamChatCompletionResponse
	for i, name := range []string{"response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
		"response.output_text.delta", "response.output_text.delta", "response.output_text.delta", "response.output_text.done",
		"response.content_part.done", "response.output_item.done", "response.completed"} {
		evs = append(evs, inferencetest.Event(name, fmt.Sprintf(`{"type":%q,"sequence_number":%d,"response":{"id":"resp_bench","object":"response","model":"echo","status":"in_progress"}}`, name, i)))
	}
	return inferencetest.Answer{Chunks: evs}
}

// target sends one request and reads the whole answer.
type target func() error

// benchRoute starts a stack and returns rt's direct call and its call
// through the edge.
func benchRoute(b *testing.B, rt route) (direct, viaEdge target) {
	b.Helper()
	// Production log handler and level, writing to io.Discard: the access
	// log line of every call is formatted as in production.
	s := newStackWith(b, logging.New(io.Discard, slog.LevelInfo))
	s.Inf.SetScript(responsesEvents)
	s.AddKey(b, "bench-key", &authv1.Principal{TenantId: "bench", KeyId: "kbench"})
	md := metadata.AppendToOutgoingContext(context.Background(), principal.MetadataKey, s.assertion("bench-key"))
	body := []byte(rt.body)
	direct = func() error {
		if !rt.stream {
			_, err := s.conn.ChatCompletion(md, &inferencev1.ChatCompletionRequest{Body: body, Format: rt.format})
			return err
		}
		st, err := s.conn.StreamChatCompletion(md, &inferencev1.StreamChatCompletionRequest{Body: body, Format: rt.format})
		if err != nil {
			return err
		}
		for {
			if _, err := st.Recv(); err != nil {
				if errors.Is(err, io.EOF) {
					return nil
				}
				return err
			}
		}
	}
	c := newClient()
	viaEdge = func() error { return postBench(c, s.URL+rt.path, body) }
	return direct, viaEdge
}

func newClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 512, IdleConnTimeout: time.Minute}}
}

// postBench sends body with the bench key and reads the answer.
func postBench(c *http.Client, url string, body []byte) error {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header["Authorization"] = []string{"Bearer bench-key"}
	req.Header["Content-Type"] = []string{"application/json"}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return err
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type seqResult struct {
	p50, p99 time.Duration
	cpu      time.Duration // per request
	errors   int
}

func sequential(t target, n int) seqResult {
	for range 50 { // warm connections and caches
		_ = t()
	}
	lat := make([]time.Duration, 0, n)
	var res seqResult
	cpu0 := cpuTime()
	for range n {
		start := time.Now()
		if err := t(); err != nil {
			res.errors++
		}
		lat = append(lat, time.Since(start))
	}
	res.cpu = (cpuTime() - cpu0) / time.Duration(n)
	slices.Sort(lat)
	res.p50, res.p99 = lat[len(lat)*50/100], lat[min(len(lat)-1, len(lat)*99/100)]
	return res
}

type loadResult struct {
	rps    float64
	errors int64
	cpu    time.Duration // per request
}

func load(t target, conc int, d time.Duration) loadResult {
	var wg sync.WaitGroup
	for range conc { // warm one connection per worker
		wg.Go(func() { _ = t() })
	}
	wg.Wait()
	var ok, errs atomic.Int64
	deadline := time.Now().Add(d)
	cpu0, start := cpuTime(), time.Now()
	for range conc {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				if err := t(); err != nil {
					errs.Add(1)
				} else {
					ok.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	n := ok.Load() + errs.Load()
	return loadResult{rps: float64(ok.Load()) / elapsed.Seconds(), errors: errs.Load(), cpu: cpu / time.Duration(max(n, 1))}
}

func benchDuration() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("RAMPART_BENCH_DURATION")); err == nil && d > 0 {
		return d
	}
	return 5 * time.Second
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// BenchmarkChatLatency: added p50/p99 over b.N sequential requests.
func BenchmarkChatLatency(b *testing.B) {
	for _, tc := range []struct {
		name string
		rt   route
	}{
		{"json", chatRoute},
		{"stream", chatStream},
		{"responses-stream", respStreamR},
	} {
		b.Run(tc.name, func(b *testing.B) {
			direct, viaEdge := benchRoute(b, tc.rt)
			n := max(b.N, 100)
			b.ResetTimer()
			d := sequential(direct, n)
			r := sequential(viaEdge, n)
			b.StopTimer()
			if d.errors+r.errors > 0 {
				b.Fatalf("errors: direct %d, through the edge %d", d.errors, r.errors)
			}
			b.ReportMetric(us(d.p50), "direct-p50-µs")
			b.ReportMetric(us(r.p50), "edge-p50-µs")
			b.ReportMetric(us(r.p50-d.p50), "added-p50-µs")
			b.ReportMetric(us(d.p99), "direct-p99-µs")
			b.ReportMetric(us(r.p99), "edge-p99-µs")
			b.ReportMetric(us(r.p99-d.p99), "added-p99-µs")
			b.ReportMetric(us(r.cpu-d.cpu), "edge-cpu-µs/req")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkChatThroughput: requests per second at concurrency 16 and 64.
func BenchmarkChatThroughput(b *testing.B) { throughput(b, chatRoute) }

// BenchmarkChatStreamThroughput: the same for streamed chat.
func BenchmarkChatStreamThroughput(b *testing.B) { throughput(b, chatStream) }

func throughput(b *testing.B, rt route) {
	dur := benchDuration()
	for _, conc := range []int{16, 64} {
		b.Run(fmt.Sprintf("c=%d", conc), func(b *testing.B) {
			direct, viaEdge := benchRoute(b, rt)
			b.ResetTimer()
			d := loadResult{rps: 1}
			if os.Getenv("RAMPART_BENCH_ONLY_RAMPART") == "" { // set it to profile the edge alone
				d = load(direct, conc, dur)
			}
			r := load(viaEdge, conc, dur)
			b.StopTimer()
			b.ReportMetric(d.rps, "direct-req/s")
			b.ReportMetric(r.rps, "edge-req/s")
			b.ReportMetric(r.rps/d.rps, "ratio")
			b.ReportMetric(float64(r.errors), "edge-errors")
			b.ReportMetric(us(r.cpu-d.cpu), "edge-cpu-µs/req")
			b.ReportMetric(0, "ns/op")
			if r.errors > 0 || d.errors > 0 {
				b.Errorf("errors: direct %d, through the edge %d", d.errors, r.errors)
			}
		})
	}
}
