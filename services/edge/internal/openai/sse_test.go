package openai_test

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	"github.com/rampart-platform/rampart/pkg/inferencetest"
)

// chunks scripts a stream of the given chunk JSONs, then err (if any).
func chunks(err error, jsons ...string) inferencetest.Script {
	return func(*inferencetest.Call) inferencetest.Answer {
		a := inferencetest.Answer{Err: err, Headers: map[string]string{"x-ratelimit-remaining-requests": "99"}}
		for _, j := range jsons {
			a.Chunks = append(a.Chunks, inferencetest.Chunk(j))
		}
		return a
	}
}

// Each chunk inference streams is one SSE event, "data: <chunk>\n\n",
// written unchanged and in order, then "data: [DONE]"; the first chunk's
// headers are HTTP headers. (The chunks inference itself writes, for each
// kind of model, are pinned by tests/e2e TestOpenAIConformance/SSEGolden.)
func TestSSEFraming(t *testing.T) {
	s := newStack(t)
	s.AddKey(t, "key-a", &authv1.Principal{TenantId: "t1", KeyId: "ka"})
	c1 := `{"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`
	c2 := `{"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"caf\u00e9 \u2028"},"finish_reason":null}]}`
	c3 := `{"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}`
	for _, path := range []string{"/v1/chat/completions", "/v1/completions"} {
		t.Run(path, func(t *testing.T) {
			s.Inf.SetScript(chunks(nil, c1, c2, c3))
			r := post(t, s, "key-a", path, `{"model":"echo","stream":true,"prompt":"x"}`)
			require.Equal(t, http.StatusOK, r.status, string(r.bytes))
			require.Equal(t, "text/event-stream; charset=utf-8", r.header.Get("Content-Type"))
			require.Equal(t, "no-cache", r.header.Get("Cache-Control"))
			require.Equal(t, "99", r.header.Get("X-Ratelimit-Remaining-Requests"))
			require.Equal(t, "data: "+c1+"\n\ndata: "+c2+"\n\ndata: "+c3+"\n\ndata: [DONE]\n\n", string(r.bytes))
		})
	}
	t.Run("a stream with no chunk is still a stream", func(t *testing.T) {
		s.Inf.SetScript(chunks(nil))
		r := post(t, s, "key-a", "/v1/chat/completions", `{"model":"echo","stream":true}`)
		require.Equal(t, http.StatusOK, r.status)
		require.Equal(t, "data: [DONE]\n\n", string(r.bytes))
	})
}

// A stream that fails after it began: the client gets the chunks so far,
// then OpenAI's error event, and no [DONE]; a server error's message is
// replaced (inference's text stays inside), a client error's is kept.
func TestMidStreamErrorEvent(t *testing.T) {
	s := newStack(t)
	s.AddKey(t, "key-a", &authv1.Principal{TenantId: "t1", KeyId: "ka"})
	partial := `{"choices":[{"index":0,"delta":{"content":"partial"},"finish_reason":null}]}`
	for _, tc := range []struct {
		name  string
		err   inferencetest.APIError
		event string
	}{
		{"server error", inferencetest.APIError{Code: codes.Unavailable, Message: "upstream 10.0.0.7 said org-secret", OpenAICode: "upstream_unavailable", Type: "server_error"},
			`{"error":{"code":"upstream_unavailable","message":"The stream was interrupted by a server error.","param":null,"type":"server_error"}}`},
		{"client error", inferencetest.APIError{Code: codes.InvalidArgument, Message: "tool call arguments do not match the schema", OpenAICode: "invalid_tool_call", Type: "invalid_request_error", Param: "tools"},
			`{"error":{"code":"invalid_tool_call","message":"tool call arguments do not match the schema","param":"tools","type":"invalid_request_error"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.Inf.SetScript(chunks(tc.err.Err(), partial))
			r := post(t, s, "key-a", "/v1/chat/completions", `{"model":"gpt-fake","stream":true}`)
			require.Equal(t, http.StatusOK, r.status, "the stream had begun")
			require.Equal(t, "data: "+partial+"\n\ndata: "+tc.event+"\n\n", string(r.bytes))
		})
	}
}

// TestDisconnectCancelsInferenceStream: the client goes away mid-stream;
// the edge cancels the gRPC stream, and inference sees its context end
// (inference then cancels the upstream request: tests/e2e
// TestOpenAIConformance/DisconnectCancelsUpstream).
func TestDisconnectCancelsInferenceStream(t *testing.T) {
	s := newStack(t)
	s.AddKey(t, "key-a", &authv1.Principal{TenantId: "t1", KeyId: "ka"})
	s.Inf.SetScript(holding)
	reqCtx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req, err := http.NewRequestWithContext(reqCtx, http.MethodPost, s.URL+"/v1/chat/completions",
		strings.NewReader(`{"model":"gpt-fake","stream":true,"messages":[{"role":"user","content":"hang"}]}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer key-a")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "waiting") {
			break // inference is now holding the stream open
		}
	}
	require.Zero(t, s.Inf.Canceled())
	cancel()
	require.Eventually(t, func() bool { return s.Inf.Canceled() == 1 }, 30*time.Second, 5*time.Millisecond,
		"inference never saw the cancellation") // deadlock guard, not a timing assertion
}

// holding scripts inference to send one "waiting" chunk and hold the
// stream open until the client goes away, for a last user message "hang";
// everything else is echoed.
func holding(c *inferencetest.Call) inferencetest.Answer {
	if c.Method == "StreamChatCompletion" && inferencetest.LastUserText(c.Body) == "hang" {
		return inferencetest.Answer{Hold: true, Chunks: []*inferencev1.StreamChatCompletionResponse{
			inferencetest.Chunk(`{"choices":[{"index":0,"delta":{"content":"waiting"},"finish_reason":null}]}`)}}
	}
	return inferencetest.Echo(c)
}

// The Responses stream frames each event as "event: <name>" from the
// message's event plus one data line, ends without a [DONE] sentinel, and
// a failure mid-stream is an "event: error" with {"type":"error",...}
// numbered after the events before it (sequence_number is required in the
// SDKs' ResponseErrorEvent; the event whose name was dropped was still
// sent, so it counts). An
// event name with a line break would split the frame: it is dropped.
func TestResponsesSSEFraming(t *testing.T) {
	s := newStack(t)
	s.AddKey(t, "key-a", &authv1.Principal{TenantId: "t1", KeyId: "ka"})
	created := `{"type":"response.created","sequence_number":0}`
	delta := `{"type":"response.output_text.delta","sequence_number":1,"delta":"hi"}`
	completed := `{"type":"response.completed","sequence_number":2}`
	events := []*inferencev1.StreamChatCompletionResponse{inferencetest.Event("response.created", created),
		inferencetest.Event("response.output_text.delta", delta), inferencetest.Event("response.completed", completed)}
	s.Inf.SetScript(func(*inferencetest.Call) inferencetest.Answer { return inferencetest.Answer{Chunks: events} })
	r := post(t, s, "key-a", "/v1/responses", `{"model":"echo","stream":true,"input":"framed responses"}`)
	require.Equal(t, http.StatusOK, r.status, string(r.bytes))
	require.Equal(t, "text/event-stream; charset=utf-8", r.header.Get("Content-Type"))
	require.Equal(t, "event: response.created\ndata: "+created+"\n\nevent: response.output_text.delta\ndata: "+delta+
		"\n\nevent: response.completed\ndata: "+completed+"\n\n", string(r.bytes))
	got, _ := s.Inf.LastCall("StreamChatCompletion")
	require.Equal(t, inferencev1.RequestFormat_REQUEST_FORMAT_RESPONSES, got.Format)

	s.Inf.SetScript(func(*inferencetest.Call) inferencetest.Answer {
		return inferencetest.Answer{Chunks: []*inferencev1.StreamChatCompletionResponse{events[0], inferencetest.Event("evil\nevent: x", delta)},
			Err: inferencetest.APIError{Code: codes.Internal, Message: "secret detail", OpenAICode: "internal_error", Type: "server_error"}.Err()}
	})
	r = post(t, s, "key-a", "/v1/responses", `{"model":"echo","stream":true,"input":"broken"}`)
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, "event: response.created\ndata: "+created+"\n\ndata: "+delta+"\n\nevent: error\n"+
		`data: {"code":"internal_error","message":"The stream was interrupted by a server error.","param":null,"sequence_number":2,"type":"error"}`+"\n\n", string(r.bytes))
	require.NotContains(t, string(r.bytes), "[DONE]")
}

// TestFirstEventWhileInferenceHolds: the 200, the SSE headers (with the
// first message's rate-limit headers) and the first event reach the client
// while inference still holds the rest of the stream — the edge waits for
// nothing after inference's first message (ADR 0067, ADR 0080). A relay
// that waited for a second message would leave the client without a byte
// until the stream's end, which never comes here (the request's deadline
// ends the test then).
func TestFirstEventWhileInferenceHolds(t *testing.T) {
	s := newStack(t)
	s.AddKey(t, "key-a", &authv1.Principal{TenantId: "t1", KeyId: "ka"})
	role := `{"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`
	s.Inf.SetScript(func(*inferencetest.Call) inferencetest.Answer {
		return inferencetest.Answer{Hold: true, Headers: map[string]string{"x-ratelimit-remaining-requests": "99"},
			Chunks: []*inferencev1.StreamChatCompletionResponse{inferencetest.Chunk(role)}}
	})
	reqCtx, cancel := context.WithTimeout(t.Context(), 30*time.Second) // a hang's end, not a timing bound
	defer cancel()
	req, err := http.NewRequestWithContext(reqCtx, http.MethodPost, s.URL+"/v1/chat/completions",
		strings.NewReader(`{"model":"gpt-fake","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer key-a")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream; charset=utf-8", resp.Header.Get("Content-Type"))
	require.Equal(t, "99", resp.Header.Get("X-Ratelimit-Remaining-Requests"))
	sc := bufio.NewScanner(resp.Body)
	require.True(t, sc.Scan(), "the first event: %v", sc.Err())
	require.Equal(t, "data: "+role, sc.Text())
	require.True(t, sc.Scan())
	require.Empty(t, sc.Text(), "the event's blank line")
}
