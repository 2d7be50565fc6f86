package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	"github.com/rampart-platform/rampart/services/inference/internal/servertest"
)

// benchAnswer is what make bench-stack's fake upstream answers (usage
// reported, so no token counting).
const benchAnswer = `{"id":"chatcmpl-fake-0001","object":"chat.completion","created":1765000000,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! This is a fixed reply from the fake upstream."},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":11,"total_tokens":23},"system_fingerprint":"fp_fake"}`

// BenchmarkChatCompletionUpstream is one non-streamed chat completion
// through the whole gRPC server (mTLS, interceptors, principal, quota,
// usage recorder) to an instant OpenAI-compatible upstream on loopback,
// 16 callers at once: the in-process view of inference's share of a
// `make bench-stack` chat request. allocs/op counts the gRPC client's
// allocations too (the same in every build).
func BenchmarkChatCompletionUpstream(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, benchAnswer)
	}))
	b.Cleanup(up.Close)
	reg := `{"upstreams": {"fake": {"type": "openai", "base_url": "` + up.URL + `/v1", "api_key_env": "", "max_retries": -1}},
  "models": [{"id": "gpt-4o-mini", "upstream": "fake", "upstream_model": "gpt-4o-mini"}]}`
	srv := servertest.Start(b, servertest.Options{Models: []byte(reg)})
	e := &env{srv: srv, client: inferencev1.NewInferenceServiceClient(srv.Dial(b, "edge"))}
	ctx := srv.Outgoing(b.Context(), b, principalFor("t1", "k1"), "x-request-id", "req-bench")
	req := &inferencev1.ChatCompletionRequest{Body: chatBody("gpt-4o-mini", "Say hello.", "")}
	_, err := e.client.ChatCompletion(ctx, req)
	require.NoError(b, err)
	b.SetParallelism(8) // 16 callers on 2 cores
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := e.client.ChatCompletion(ctx, req); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64((cpuTime(b)-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// cpuTime is the process's user+system CPU time so far (the gRPC client
// and the upstream run in the same process: compare builds, not absolute
// values).
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	require.NoError(tb, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
