package router_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	"github.com/rampart-platform/rampart/pkg/apikey"
	"github.com/rampart-platform/rampart/pkg/logging"
	"github.com/rampart-platform/rampart/services/edge/internal/authn"
	"github.com/rampart-platform/rampart/services/edge/internal/middleware"
	"github.com/rampart-platform/rampart/services/edge/internal/openai"
	"github.com/rampart-platform/rampart/services/edge/internal/ratelimit"
	"github.com/rampart-platform/rampart/services/edge/internal/router"
)

// BenchmarkChatChain is the edge's own work for one chat completion, in
// process: the handler as app.newHandler assembles it (every middleware,
// the production log handler writing to io.Discard, metrics, the key
// cache, the in-memory rate limiter with limits far out of the way, the
// OpenAI handler), with inference answered in memory and a response
// writer that copies the header map at WriteHeader as net/http does. No
// sockets, no HTTP parsing, no gRPC: what is left is what the edge does
// beyond the two-hop floor's front (issue 15), in ns and allocations per
// request.
func BenchmarkChatChain(b *testing.B) {
	h, presented := chatChain(b)
	body := []byte(`{"messages":[{"content":"Say hello.","role":"user"}],"model":"gpt-4o-mini"}`)
	serve := func() *benchWriter {
		req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:8080/v1/chat/completions", bytes.NewReader(body))
		req.RemoteAddr = "127.0.0.1:40000"
		req.Header["Authorization"] = []string{"Bearer " + presented}
		req.Header["Content-Type"] = []string{"application/json"}
		w := &benchWriter{header: http.Header{}}
		h.ServeHTTP(w, req)
		return w
	}
	w := serve()
	require.Equal(b, http.StatusOK, w.status, "%s", w.body.String())
	require.Equal(b, instantAnswer, w.body.String())
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for range b.N {
		serve()
	}
	// CPU time rather than wall time: on a shared machine the wall time
	// per request moves with everyone else's load.
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
}

// processCPU is the process's user and system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// chatChain is the handler as app.newHandler assembles it, with auth and
// inference answered in memory, and a key it accepts.
func chatChain(tb testing.TB) (http.Handler, string) {
	key, err := apikey.Generate()
	require.NoError(tb, err)
	reg := prometheus.NewRegistry()
	a, err := authn.New(authn.Options{
		Client:  fixedAuth{principal: &authv1.Principal{TenantId: "t_bench", KeyId: key.ID, Subject: "bench", Roles: []string{"admin"}, Scopes: []string{"chat:write"}}},
		Metrics: authn.NewMetrics(reg),
	})
	require.NoError(tb, err)
	log := logging.New(io.Discard, slog.LevelInfo)
	limitMetrics := ratelimit.NewMetrics(reg)
	oai := openai.New(openai.Options{Inference: instantInference{}, Log: log, LimitMetrics: limitMetrics})
	return router.New(router.Options{
		Log: log, HTTPMetrics: middleware.NewMetrics(reg), Authn: a,
		Limiter: ratelimit.NewMemory(nil), LimitDefaults: ratelimit.Defaults{KeyRPM: 1_000_000_000, TenantRPM: 1_000_000_000},
		LimitMetrics: limitMetrics,
		Gateway:      http.NotFoundHandler(), Direct: openai.Literal(oai),
	}), key.Plaintext()
}

// fixedAuth verifies every key as principal, with an assertion.
type fixedAuth struct{ principal *authv1.Principal }

func (f fixedAuth) VerifyKey(_ context.Context, req *authv1.VerifyKeyRequest, _ ...grpc.CallOption) (*authv1.VerifyKeyResponse, error) {
	resp := &authv1.VerifyKeyResponse{Principal: f.principal, Assertion: "assertion"}
	for _, aud := range req.GetAudiences() {
		resp.Assertions = append(resp.Assertions, &authv1.AudienceAssertion{Audience: aud, Assertion: "assertion-" + aud})
	}
	return resp, nil
}

func (fixedAuth) WatchRevocations(context.Context, *authv1.WatchRevocationsRequest, ...grpc.CallOption) (grpc.ServerStreamingClient[authv1.WatchRevocationsResponse], error) {
	select {}
}

const instantAnswer = `{"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Hello."},"finish_reason":"stop"}]}`

// instantInference answers every chat completion at once, in memory.
type instantInference struct{}

func (instantInference) Invoke(_ context.Context, _ string, _, reply any, _ ...grpc.CallOption) error {
	reply.(*inferencev1.ChatCompletionResponse).Body = []byte(instantAnswer) //nolint:errcheck,forcetypeassert // only chat completions are benchmarked
	return nil
}

func (instantInference) NewStream(context.Context, *grpc.StreamDesc, string, ...grpc.CallOption) (grpc.ClientStream, error) {
	panic("not benchmarked")
}

// benchWriter is a response writer that, like net/http's, copies the
// handler's header map when the header is written.
type benchWriter struct {
	header, sent http.Header
	status       int
	body         bytes.Buffer
}

func (w *benchWriter) Header() http.Header { return w.header }

func (w *benchWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status, w.sent = code, w.header.Clone()
	}
}

func (w *benchWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.body.Write(b)
}

// TestChatBodyLimit: through the whole chain the chat route's body limit
// holds however the body comes: a declared length over it is refused by
// the router, a chunked body over it by the handler's read (the router's
// limit, the one reader the body then has), each with its own words; a
// body at the limit is read whole.
func TestChatBodyLimit(t *testing.T) {
	h, presented := chatChain(t)
	tooBig := bytes.Repeat([]byte(" "), int(openai.MaxBodyBytes)+1)
	atLimit := append(bytes.Repeat([]byte(" "), int(openai.MaxBodyBytes)-2), "{}"...)
	tests := []struct {
		name    string
		body    []byte
		chunked bool
		status  int
		message string
	}{
		{"declared length over the limit", tooBig, false, http.StatusRequestEntityTooLarge, "request body is too large: this route takes at most 4 MiB"},
		{"chunked over the limit", tooBig, true, http.StatusRequestEntityTooLarge, "The request body is larger than 4 MiB."},
		{"chunked at the limit", atLimit, true, http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", bytes.NewReader(tt.body))
			if tt.chunked {
				req.ContentLength = -1
			}
			req.Header.Set("Authorization", "Bearer "+presented)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			require.Equal(t, tt.status, rec.Code, rec.Body.String())
			if tt.message != "" {
				var e struct {
					Error struct{ Message string } `json:"error"`
				}
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &e))
				require.Equal(t, tt.message, e.Error.Message)
			}
		})
	}
}
