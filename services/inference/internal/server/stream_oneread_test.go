package server_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

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
