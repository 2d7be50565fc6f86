package server_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	"github.com/rampart-platform/rampart/services/inference/internal/servertest"
)

// oneReadStream is an OpenAI stream shaped like make bench-stack's fake
// upstream's, written in one piece: every chunk reaches inference in one
// read, the case in which the handler never waits on its upstream and
// yields to the connection's writer after its first message (ADR 0073).
const oneReadStream = `data: {"id":"up-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}

data: {"id":"up-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"Hello! This is "},"logprobs":null,"finish_reason":null}]}

data: {"id":"up-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"a fixed reply from "},"logprobs":null,"finish_reason":null}]}

data: {"id":"up-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"the fake upstream."},"logprobs":null,"finish_reason":null}]}

data: {"id":"up-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":11,"total_tokens":23}}

data: [DONE]

`

// TestStreamChunksInOneRead: a stream whose chunks all arrive together
// reaches the client as before the first-message yield: the assistant's
// role chunk, one message per content chunk in the upstream's order, then the finish chunk and, when
// asked for, the usage chunk; the rate-limit headers on the first message
// only; one id throughout; the upstream's usage recorded once per stream.
func TestStreamChunksInOneRead(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, oneReadStream)
	}))
	t.Cleanup(up.Close)
	reg := `{"upstreams": {"fake": {"type": "openai", "base_url": "` + up.URL + `/v1", "api_key_env": "", "max_retries": -1}},
  "models": [{"id": "gpt-4o-mini", "upstream": "fake", "upstream_model": "gpt-4o-mini"}]}`
	srv := servertest.Start(t, servertest.Options{Models: []byte(reg)})
	e := &env{srv: srv, client: inferencev1.NewInferenceServiceClient(srv.Dial(t, "edge"))}
	p := principalFor("t-one", "k1", func(p *authv1.Principal) { p.Limits.TokensPerMinute = 1_000_000 })

	type chunk struct {
		ID      string `json:"id"`
		Choices []struct {
			Delta struct {
				Role    string  `json:"role"`
				Content *string `json:"content"`
			} `json:"delta"`
			FinishReason *string `json:"finish_reason"`
		} `json:"choices"`
		Usage *struct {
			PromptTokens     int `json:"prompt_tokens"`
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
	}
	tests := []struct {
		name  string
		extra string
		want  int // messages
	}{
		{"without usage", `,"stream":true`, 5},
		{"with usage", `,"stream":true,"stream_options":{"include_usage":true}`, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := e.client.StreamChatCompletion(e.ctx(t, p), &inferencev1.StreamChatCompletionRequest{Body: chatBody("gpt-4o-mini", "Say hello.", tt.extra)})
			require.NoError(t, err)
			var got []chunk
			for {
				msg, err := st.Recv()
				if errors.Is(err, io.EOF) {
					break
				}
				require.NoError(t, err)
				if len(got) == 0 {
					require.Equal(t, "1000000", msg.GetHeaders()["x-ratelimit-limit-tokens"], "the first message carries the headers")
				} else {
					require.Empty(t, msg.GetHeaders(), "message %d", len(got))
				}
				var c chunk
				require.NoError(t, json.Unmarshal(msg.GetChunk(), &c), "%s", msg.GetChunk())
				got = append(got, c)
			}
			require.Len(t, got, tt.want)
			for i, want := range []string{"", "Hello! This is ", "a fixed reply from ", "the fake upstream."} {
				require.Len(t, got[i].Choices, 1)
				require.NotNil(t, got[i].Choices[0].Delta.Content)
				require.Equal(t, want, *got[i].Choices[0].Delta.Content, "chunk %d", i)
				require.Nil(t, got[i].Choices[0].FinishReason)
				require.Equal(t, got[0].ID, got[i].ID)
			}
			require.Equal(t, "assistant", got[0].Choices[0].Delta.Role)
			fin := got[4]
			require.Equal(t, got[0].ID, fin.ID)
			require.Len(t, fin.Choices, 1)
			require.NotNil(t, fin.Choices[0].FinishReason)
			require.Equal(t, "stop", *fin.Choices[0].FinishReason)
			if tt.want == 6 {
				require.Empty(t, got[5].Choices)
				require.NotNil(t, got[5].Usage)
				require.Equal(t, 12, got[5].Usage.PromptTokens)
				require.Equal(t, 11, got[5].Usage.CompletionTokens)
			}
		})
	}
	u, err := e.client.GetUsage(e.ctx(t, p), &inferencev1.GetUsageRequest{GroupBy: "key"})
	require.NoError(t, err)
	require.Equal(t, int64(2), u.GetTotal().GetRequests())
	require.Equal(t, int64(46), u.GetTotal().GetTotalTokens(), "the upstream's reported usage, once per stream")
}

// stagedUpstream answers a stream in steps, each held until the test
// releases it: the 200 and the event-stream headers alone, then the role
// chunk with the first content chunk, then the rest. A message that
// waited for a later step, or for the whole stream, never reaches the
// client while the step it belongs to is held.
type stagedUpstream struct {
	steps [2]chan struct{}
}

func (u *stagedUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	events := strings.SplitAfter(oneReadStream, "\n\n")
	w.Header().Set("Content-Type", "text/event-stream")
	f, _ := w.(http.Flusher)
	f.Flush()
	for i, part := range []string{strings.Join(events[:2], ""), strings.Join(events[2:], "")} {
		select {
		case <-u.steps[i]:
		case <-r.Context().Done():
			return
		}
		_, _ = io.WriteString(w, part)
		f.Flush()
	}
}

// TestStreamMessagesLeaveAsTheUpstreamSends pins ADR 0073's "the first
// message leaves alone" and ADR 0080's start at acceptance on the gRPC
// wire, without timing: the client receives the role chunk (with the
// rate-limit headers) while the upstream has sent nothing but its
// headers, and the first content while the upstream still holds the rest.
// A handler batching its first message with later ones, or starting only
// at the first content, would leave the client waiting for a step the test
// never releases (the call's deadline ends it).
func TestStreamMessagesLeaveAsTheUpstreamSends(t *testing.T) {
	up := &stagedUpstream{steps: [2]chan struct{}{make(chan struct{}), make(chan struct{})}}
	srv := httptest.NewServer(up)
	t.Cleanup(srv.Close)
	reg := `{"upstreams": {"fake": {"type": "openai", "base_url": "` + srv.URL + `/v1", "api_key_env": "", "max_retries": -1}},
  "models": [{"id": "gpt-4o-mini", "upstream": "fake", "upstream_model": "gpt-4o-mini"}]}`
	s := servertest.Start(t, servertest.Options{Models: []byte(reg)})
	client := inferencev1.NewInferenceServiceClient(s.Dial(t, "edge"))
	e := &env{srv: s, client: client}
	p := principalFor("t-staged", "k1", func(p *authv1.Principal) { p.Limits.TokensPerMinute = 1_000_000 })
	st, err := client.StreamChatCompletion(e.ctx(t, p), &inferencev1.StreamChatCompletionRequest{Body: chatBody("gpt-4o-mini", "Say hello.", `,"stream":true`)})
	require.NoError(t, err)

	content := func(msg *inferencev1.StreamChatCompletionResponse) (role, text string) {
		var c struct {
			Choices []struct {
				Delta struct {
					Role    string `json:"role"`
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
		}
		require.NoError(t, json.Unmarshal(msg.GetChunk(), &c), "%s", msg.GetChunk())
		require.Len(t, c.Choices, 1)
		return c.Choices[0].Delta.Role, c.Choices[0].Delta.Content
	}
	first, err := st.Recv() // the upstream has sent its headers only
	require.NoError(t, err)
	require.Equal(t, "1000000", first.GetHeaders()["x-ratelimit-limit-tokens"])
	role, text := content(first)
	require.Equal(t, "assistant", role)
	require.Empty(t, text)

	close(up.steps[0]) // the upstream's role chunk and first content
	second, err := st.Recv()
	require.NoError(t, err)
	require.Empty(t, second.GetHeaders())
	_, text = content(second)
	require.Equal(t, "Hello! This is ", text, "the upstream's role chunk adds no message of its own")

	close(up.steps[1]) // the rest
	var rest []string
	for {
		msg, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		rest = append(rest, string(msg.GetChunk()))
	}
	require.Len(t, rest, 3, "two content chunks and the finish chunk")
	require.Contains(t, rest[2], `"finish_reason":"stop"`)
}

// TestStreamFailureAroundAcceptance (ADR 0080): an upstream that refuses
// the stream (an error status) is still a status for the client and still
// falls back to the model's fallback; one that accepted it and then fails
// before any content is a mid-stream failure: the role chunk went out with
// the acceptance, the stream ends with UNAVAILABLE (the edge turns it into
// an SSE error event), and no fallback runs behind the client's started
// stream.
func TestStreamFailureAroundAcceptance(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch {
		case strings.Contains(string(body), "refuse"):
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"error":{"message":"overloaded org-SECRET","type":"server_error"}}`)
		case strings.Contains(string(body), "error event"):
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, "data: {\"error\":{\"message\":\"org-SECRET\",\"type\":\"server_error\",\"code\":\"server_error\"}}\n\n")
		default: // accepted, then closed without an event
			w.Header().Set("Content-Type", "text/event-stream")
		}
	}))
	t.Cleanup(up.Close)
	reg := `{"upstreams": {"fake": {"type": "openai", "base_url": "` + up.URL + `/v1", "api_key_env": "", "max_retries": -1}},
  "models": [{"id": "gpt-4o-mini", "upstream": "fake", "upstream_model": "gpt-4o-mini", "fallback": "echo"},
             {"id": "echo", "upstream": "local"}]}`
	s := servertest.Start(t, servertest.Options{Models: []byte(reg)})
	e := &env{srv: s, client: inferencev1.NewInferenceServiceClient(s.Dial(t, "edge"))}
	p := principalFor("t-fail", "k1")
	tests := []struct {
		name, msg string
		// wantModel and wantText: the stream's model and content when it
		// ends normally; wantCode otherwise, after wantMsgs messages.
		wantModel, wantText string
		wantCode            codes.Code
		wantMsgs            int
		wantInMsg           string
	}{
		{name: "refused: the fallback answers", msg: "refuse", wantModel: "echo", wantText: "refuse"},
		{name: "error event before content", msg: "error event", wantCode: codes.Unavailable, wantMsgs: 1, wantInMsg: "(server_error)"},
		{name: "closed before any event", msg: "close", wantCode: codes.Unavailable, wantMsgs: 1, wantInMsg: "ended before it was complete"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := e.client.StreamChatCompletion(e.ctx(t, p), &inferencev1.StreamChatCompletionRequest{Body: chatBody("gpt-4o-mini", tt.msg, `,"stream":true`)})
			require.NoError(t, err)
			var model, text string
			n := 0
			for {
				msg, err := st.Recv()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					require.NotEqual(t, codes.OK, tt.wantCode, "unexpected error %v", err)
					require.Equal(t, tt.wantCode, status.Code(err), "%v", err)
					require.Equal(t, tt.wantMsgs, n, "messages before the error")
					require.Contains(t, status.Convert(err).Message(), tt.wantInMsg)
					require.NotContains(t, status.Convert(err).Message(), "SECRET", "the upstream's message stays inside")
					return
				}
				n++
				var c struct {
					Model   string `json:"model"`
					Choices []struct {
						Delta struct {
							Role    string `json:"role"`
							Content string `json:"content"`
						} `json:"delta"`
					} `json:"choices"`
				}
				require.NoError(t, json.Unmarshal(msg.GetChunk(), &c))
				if n == 1 {
					require.Equal(t, "assistant", c.Choices[0].Delta.Role, "the first message is the role chunk")
				}
				model = c.Model
				if len(c.Choices) > 0 {
					text += c.Choices[0].Delta.Content
				}
			}
			require.Equal(t, codes.OK, tt.wantCode, "the stream ended normally")
			require.Equal(t, tt.wantModel, model)
			require.Equal(t, tt.wantText, text)
		})
	}
}
