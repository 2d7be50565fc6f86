package server_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	"github.com/rampart-platform/rampart/services/inference/internal/servertest"
)

// benchStream is what make bench-stack's fake upstream streams: a role
// chunk, three content chunks, a finish chunk with usage, [DONE].
const benchStream = `data: {"choices":[{"delta":{"content":"","role":"assistant"},"finish_reason":null,"index":0,"logprobs":null}],"created":1765000000,"id":"chatcmpl-fake-0001","model":"gpt-4o-mini","object":"chat.completion.chunk","system_fingerprint":"fp_fake"}

data: {"choices":[{"delta":{"content":"Hello! This is "},"finish_reason":null,"index":0,"logprobs":null}],"created":1765000000,"id":"chatcmpl-fake-0001","model":"gpt-4o-mini","object":"chat.completion.chunk","system_fingerprint":"fp_fake"}

data: {"choices":[{"delta":{"content":"a fixed reply from "},"finish_reason":null,"index":0,"logprobs":null}],"created":1765000000,"id":"chatcmpl-fake-0001","model":"gpt-4o-mini","object":"chat.completion.chunk","system_fingerprint":"fp_fake"}

data: {"choices":[{"delta":{"content":"the fake upstream."},"finish_reason":null,"index":0,"logprobs":null}],"created":1765000000,"id":"chatcmpl-fake-0001","model":"gpt-4o-mini","object":"chat.completion.chunk","system_fingerprint":"fp_fake"}

data: {"choices":[{"delta":{},"finish_reason":"stop","index":0,"logprobs":null}],"created":1765000000,"id":"chatcmpl-fake-0001","model":"gpt-4o-mini","object":"chat.completion.chunk","system_fingerprint":"fp_fake","usage":{"completion_tokens":11,"prompt_tokens":12,"total_tokens":23}}

data: [DONE]

`

// BenchmarkStreamChatCompletionUpstream is BenchmarkChatCompletionUpstream
// for a streamed completion (the bench's five chunks): the in-process view
// of inference's share of a `make bench-stack` streaming request (ADR 0099).
func BenchmarkStreamChatCompletionUpstream(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, benchStream)
	}))
	b.Cleanup(up.Close)
	reg := `{"upstreams": {"fake": {"type": "openai", "base_url": "` + up.URL + `/v1", "api_key_env": "", "max_retries": -1}},
  "models": [{"id": "gpt-4o-mini", "upstream": "fake", "upstream_model": "gpt-4o-mini"}]}`
	srv := servertest.Start(b, servertest.Options{Models: []byte(reg)})
	client := inferencev1.NewInferenceServiceClient(srv.Dial(b, "edge"))
	ctx := srv.Outgoing(b.Context(), b, principalFor("t1", "k1"), "x-request-id", "req-bench")
	req := &inferencev1.StreamChatCompletionRequest{Body: []byte(`{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Say hello."}]}`)}
	one := func() error {
		st, err := client.StreamChatCompletion(ctx, req)
		if err != nil {
			return err
		}
		for n := 0; ; n++ {
			if _, err := st.Recv(); err != nil {
				if errors.Is(err, io.EOF) && n == 5 {
					return nil
				}
				return errors.Join(err, errors.New("stream ended early"))
			}
		}
	}
	require.NoError(b, one())
	b.SetParallelism(8) // 16 callers on 2 cores
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := one(); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64((cpuTime(b)-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}
