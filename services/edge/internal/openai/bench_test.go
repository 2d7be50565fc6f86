package openai_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/logging"
)

// The load harness behind the product's headline numbers (docs/performance.md
// "inference"): the same requests, in the same run, sent directly to an
// instant fake OpenAI upstream and through Rampart (edge HTTP → mTLS gRPC →
// inference → openai provider → the fake). Reported: added latency
// (Rampart minus direct) at p50/p99 over b.N sequential requests (make bench
// uses 2000), throughput at concurrency 16 and 64 for a bounded time
// (RAMPART_BENCH_DURATION, default 5s), errors, and CPU time per request of
// edge + inference (process CPU through Rampart minus process CPU direct,
// from getrusage; client and fake upstream run in both).

const benchChat = `{"model":"%s","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Say hello to the benchmark in a few words please."}],"max_tokens":64,"temperature":0.2}`

const benchStream = `{"model":"%s","stream":true,"messages":[{"role":"user","content":"Say hello to the benchmark in a few words please."}],"max_tokens":64}`

// The same prompts on the Responses API: inference maps them onto the same
// upstream chat call, so the direct baseline is the chat request.
const benchResponses = `{"model":"%s","instructions":"You are a helpful assistant.","input":"Say hello to the benchmark in a few words please.","max_output_tokens":64,"temperature":0.2}`

const benchResponsesStream = `{"model":"%s","stream":true,"input":"Say hello to the benchmark in a few words please.","max_output_tokens":64}`

// route is one benchmarked request: the direct one to the fake upstream
// (path and body) and Rampart's (path, body and model). The translated
// Responses API is measured against the upstream chat call it makes; the
// native pass-through (gpt-native, ADR 0040) against the upstream's own
// /v1/responses with the same body.
type route struct {
	directPath, direct, path, body, model string
}

var (
	chatRoute     = route{"/v1/chat/completions", benchChat, "/v1/chat/completions", benchChat, "gpt-fake"}
	chatStream    = route{"/v1/chat/completions", benchStream, "/v1/chat/completions", benchStream, "gpt-fake"}
	respRoute     = route{"/v1/chat/completions", benchChat, "/v1/responses", benchResponses, "gpt-fake"}
	respStream    = route{"/v1/chat/completions", benchStream, "/v1/responses", benchResponsesStream, "gpt-fake"}
	nativeRoute   = route{"/v1/responses", benchResponses, "/v1/responses", benchResponses, "gpt-native"}
	nativeStreamR = route{"/v1/responses", benchResponsesStream, "/v1/responses", benchResponsesStream, "gpt-native"}
)

type target struct {
	url, auth string
	body      []byte
}

// benchRoute starts a stack and returns rt's direct upstream request and
// its Rampart request.
func benchRoute(b *testing.B, rt route) (direct, rampart target) {
	b.Helper()
	// Production log handler and level, writing to io.Discard: the access
	// log line of every call is formatted as in production.
	s := newStackWith(b, logging.New(io.Discard, slog.LevelInfo))
	s.AddKey(b, "bench-key", &authv1.Principal{TenantId: "bench", KeyId: "kbench",
		Limits: &authv1.Limits{TokensPerMinute: 1 << 40, TenantTokensPerMinute: 1 << 40}})
	upstream := strings.TrimSuffix(s.upstreamURL, "/")
	upModel := "gpt-4o-mini"
	if rt.model == "gpt-native" {
		upModel = "gpt-4.1"
	}
	direct = target{url: upstream + rt.directPath, auth: "Bearer sk-upstream-secret", body: fmt.Appendf(nil, rt.direct, upModel)}
	rampart = target{url: s.URL + rt.path, auth: "Bearer bench-key", body: fmt.Appendf(nil, rt.body, rt.model)}
	return direct, rampart
}

func newClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 512, IdleConnTimeout: time.Minute}}
}

func (t target) do(c *http.Client) error {
	req, err := http.NewRequest(http.MethodPost, t.url, bytes.NewReader(t.body))
	if err != nil {
		return err
	}
	req.Header["Authorization"] = []string{t.auth}
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
	c := newClient()
	for range 50 { // warm connections and caches
		_ = t.do(c)
	}
	lat := make([]time.Duration, 0, n)
	var res seqResult
	cpu0 := cpuTime()
	for range n {
		start := time.Now()
		if err := t.do(c); err != nil {
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
	c := newClient()
	var wg sync.WaitGroup
	for range conc { // warm one connection per worker
		wg.Go(func() { _ = t.do(c) })
	}
	wg.Wait()
	var ok, errs atomic.Int64
	deadline := time.Now().Add(d)
	cpu0, start := cpuTime(), time.Now()
	for range conc {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				if err := t.do(c); err != nil {
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
		{"responses-json", respRoute},
		{"responses-stream", respStream},
		{"responses-native-json", nativeRoute},
		{"responses-native-stream", nativeStreamR},
	} {
		b.Run(tc.name, func(b *testing.B) {
			direct, rampart := benchRoute(b, tc.rt)
			n := max(b.N, 100)
			b.ResetTimer()
			d := sequential(direct, n)
			r := sequential(rampart, n)
			b.StopTimer()
			if d.errors+r.errors > 0 {
				b.Fatalf("errors: direct %d, rampart %d", d.errors, r.errors)
			}
			b.ReportMetric(us(d.p50), "direct-p50-µs")
			b.ReportMetric(us(r.p50), "rampart-p50-µs")
			b.ReportMetric(us(r.p50-d.p50), "added-p50-µs")
			b.ReportMetric(us(d.p99), "direct-p99-µs")
			b.ReportMetric(us(r.p99), "rampart-p99-µs")
			b.ReportMetric(us(r.p99-d.p99), "added-p99-µs")
			b.ReportMetric(us(r.cpu-d.cpu), "edge+inference-cpu-µs/req")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkChatThroughput: requests per second at concurrency 16 and 64.
func BenchmarkChatThroughput(b *testing.B) { throughput(b, chatRoute) }

// BenchmarkResponsesThroughput: the same for /v1/responses, against the
// same direct chat baseline.
func BenchmarkResponsesThroughput(b *testing.B) { throughput(b, respRoute) }

// BenchmarkResponsesNativeThroughput: /v1/responses passed through to the
// upstream's own Responses API, against that API called directly.
func BenchmarkResponsesNativeThroughput(b *testing.B) { throughput(b, nativeRoute) }

func throughput(b *testing.B, rt route) {
	dur := benchDuration()
	for _, conc := range []int{16, 64} {
		b.Run(fmt.Sprintf("c=%d", conc), func(b *testing.B) {
			direct, rampart := benchRoute(b, rt)
			b.ResetTimer()
			d := loadResult{rps: 1}
			if os.Getenv("RAMPART_BENCH_ONLY_RAMPART") == "" { // set it to profile Rampart alone
				d = load(direct, conc, dur)
			}
			r := load(rampart, conc, dur)
			b.StopTimer()
			b.ReportMetric(d.rps, "direct-req/s")
			b.ReportMetric(r.rps, "rampart-req/s")
			b.ReportMetric(r.rps/d.rps, "ratio")
			b.ReportMetric(float64(r.errors), "rampart-errors")
			b.ReportMetric(us(r.cpu-d.cpu), "edge+inference-cpu-µs/req")
			b.ReportMetric(0, "ns/op")
			if r.errors > 0 || d.errors > 0 {
				b.Errorf("errors: direct %d, rampart %d", d.errors, r.errors)
			}
		})
	}
}
