package openai_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/inferencetest"
	"github.com/rampart-platform/rampart/pkg/openaitest"
	"github.com/rampart-platform/rampart/services/edge/internal/openai"
	"github.com/rampart-platform/rampart/services/edge/internal/ratelimit"
)

// openStream starts a streaming chat that inference holds open ("hang",
// see holding) and returns once the first content chunk arrived; cancel ends it.
func openStream(t *testing.T, s *stack, key string) func() {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/v1/chat/completions",
		strings.NewReader(`{"model":"gpt-fake","stream":true,"messages":[{"role":"user","content":"hang"}]}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "waiting") {
			break
		}
	}
	return func() { cancel(); _ = resp.Body.Close() }
}

// Issue 10: a key holds at most MaxStreamsPerKey chat streams open; the
// next stream gets 429 with an OpenAI-shaped error naming the limit, while
// other keys and non-streaming calls are unaffected.
func TestConcurrentStreamsPerKey(t *testing.T) {
	slots := ratelimit.NewMemorySlots()
	reg := prometheus.NewRegistry()
	metrics := ratelimit.NewMetrics(reg)
	s := newStackOpts(t, openai.Options{Streams: slots, MaxStreamsPerKey: 2, LimitMetrics: metrics})
	s.Inf.SetScript(func(c *inferencetest.Call) inferencetest.Answer {
		if strings.Contains(string(c.Body), `"model":"nope"`) {
			return inferencetest.Answer{Err: inferencetest.APIError{Code: codes.NotFound, Message: "no such model",
				OpenAICode: "model_not_found", Type: "invalid_request_error", Param: "model"}.Err()}
		}
		return holding(c)
	})
	s.AddKey(t, "key-a", &authv1.Principal{TenantId: "t1", KeyId: "ka"})
	s.AddKey(t, "key-b", &authv1.Principal{TenantId: "t1", KeyId: "kb"})

	first, second := openStream(t, s, "key-a"), openStream(t, s, "key-a")
	defer second()
	require.Equal(t, 2, slots.Open("k:ka"))

	r := post(t, s, "key-a", "/v1/chat/completions", `{"model":"echo","stream":true,"messages":[{"role":"user","content":"x"}]}`)
	require.Equal(t, http.StatusTooManyRequests, r.status, string(r.bytes))
	require.Equal(t, "1", r.header.Get("Retry-After"))
	e := requireStreamCapError(t, r.bytes)
	require.Contains(t, e.Error.Message, "at most 2 streaming requests")
	require.InDelta(t, 1, testutil.ToFloat64(metrics.Counter("streams")), 0)

	// Non-streaming calls and other keys are not capped by a's streams.
	r = post(t, s, "key-a", "/v1/chat/completions", `{"model":"echo","messages":[{"role":"user","content":"x"}]}`)
	require.Equal(t, http.StatusOK, r.status)
	r = post(t, s, "key-b", "/v1/chat/completions", `{"model":"echo","stream":true,"messages":[{"role":"user","content":"x"}]}`)
	require.Equal(t, http.StatusOK, r.status)
	require.Contains(t, string(r.bytes), "[DONE]")
	require.Zero(t, slots.Open("k:kb"), "a finished stream gives its slot back")

	// Ending a stream (here: the client goes away) frees its slot.
	first()
	require.Eventually(t, func() bool { return slots.Open("k:ka") == 1 }, 10*time.Second, 10*time.Millisecond)
	r = post(t, s, "key-a", "/v1/chat/completions", `{"model":"echo","stream":true,"messages":[{"role":"user","content":"x"}]}`)
	require.Equal(t, http.StatusOK, r.status, string(r.bytes))

	// A stream refused before any output (unknown model) gives its slot back.
	r = post(t, s, "key-a", "/v1/chat/completions", `{"model":"nope","stream":true,"messages":[{"role":"user","content":"x"}]}`)
	require.Equal(t, http.StatusNotFound, r.status)
	require.Equal(t, 1, slots.Open("k:ka"))
}

// Authorization review 7: keys minted from a limited key share its rate
// (ADR 0076), and so its stream cap. Before, each minted key had a cap of
// its own: a limited key with keys:write minted keys and held N times the
// cap open (each stream holds an upstream connection for minutes).
func TestMintedKeysShareTheirPoolsStreams(t *testing.T) {
	slots := ratelimit.NewMemorySlots()
	s := newStackOpts(t, openai.Options{Streams: slots, MaxStreamsPerKey: 2})
	s.Inf.SetScript(holding)
	pool := &authv1.RatePool{KeyId: "kp", PerMinute: 60}
	s.AddKey(t, "key-p", &authv1.Principal{TenantId: "t1", KeyId: "kp"})
	s.AddKey(t, "key-c1", &authv1.Principal{TenantId: "t1", KeyId: "kc1", RequestsPools: []*authv1.RatePool{pool}})
	s.AddKey(t, "key-c2", &authv1.Principal{TenantId: "t1", KeyId: "kc2", TokensPools: []*authv1.RatePool{{KeyId: "kp", PerMinute: 1000}}})
	s.AddKey(t, "key-other", &authv1.Principal{TenantId: "t1", KeyId: "ko"})

	defer openStream(t, s, "key-c1")()
	defer openStream(t, s, "key-p")()
	require.Equal(t, 2, slots.Open("k:kp"), "a minted key's stream counts in its pool")
	const stream = `{"model":"echo","stream":true,"messages":[{"role":"user","content":"x"}]}`
	for _, key := range []string{"key-c2", "key-c1", "key-p"} {
		r := post(t, s, key, "/v1/chat/completions", stream)
		require.Equal(t, http.StatusTooManyRequests, r.status, "%s: %s", key, r.bytes)
	}
	require.Equal(t, 1, slots.Open("k:kc1"), "a refused stream gives back the slots it took")
	require.Zero(t, slots.Open("k:kc2"))
	r := post(t, s, "key-other", "/v1/chat/completions", stream)
	require.Equal(t, http.StatusOK, r.status, "a key outside the pool keeps its own cap")
}

// requireStreamCapError decodes body as the OpenAI error of a refused
// stream (a stream cap, the key's or the tenant's: 429 rate_limit_exceeded
// of type requests, param stream) and returns it for its message.
func requireStreamCapError(t *testing.T, body []byte) openaitest.ErrorBody {
	t.Helper()
	var e openaitest.ErrorBody
	require.NoError(t, json.Unmarshal(body, &e))
	require.Equal(t, "rate_limit_exceeded", e.Error.Code)
	require.Equal(t, "requests", e.Error.Type)
	require.NotNil(t, e.Error.Param)
	require.Equal(t, "stream", *e.Error.Param)
	return e
}
