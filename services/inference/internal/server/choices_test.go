package server_test

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	"github.com/rampart-platform/rampart/pkg/openaitest"
	"github.com/rampart-platform/rampart/services/inference/internal/servertest"
)

// choicesEnv runs inference with the local models and "gpt-chat" on an
// OpenAI-compatible fake, which answers n and logprobs as OpenAI does.
func choicesEnv(t *testing.T) (*env, *openaitest.Upstream) {
	t.Helper()
	fake := &openaitest.Upstream{}
	reg := `{
  "upstreams": {` + fakeUpstream(t, fake) + `},
  "models": [
    {"id": "echo", "upstream": "local"},
    {"id": "gpt-chat", "upstream": "fake", "upstream_model": "gpt-4o-mini"}
  ],
  "default": {"allowed_models": ["*"]}
}`
	return startEnv(t, servertest.Options{Models: []byte(reg), ToolPolicy: []byte(tools)}), fake
}

type choicesCompletion struct {
	Choices []struct {
		Index   int `json:"index"`
		Message struct {
			Content *string `json:"content"`
		} `json:"message"`
		Logprobs     json.RawMessage `json:"logprobs"`
		FinishReason string          `json:"finish_reason"`
	} `json:"choices"`
	Usage struct {
		PromptTokens        int `json:"prompt_tokens"`
		CompletionTokens    int `json:"completion_tokens"`
		TotalTokens         int `json:"total_tokens"`
		PromptTokensDetails *struct {
			CachedTokens int `json:"cached_tokens"`
		} `json:"prompt_tokens_details"`
	} `json:"usage"`
}

func (e *env) choicesChat(t *testing.T, body []byte) choicesCompletion {
	t.Helper()
	resp, err := e.client.ChatCompletion(e.ctx(t, principalFor("t1", "k1")), &inferencev1.ChatCompletionRequest{Body: body})
	require.NoError(t, err)
	var c choicesCompletion
	require.NoError(t, json.Unmarshal(resp.GetBody(), &c), "%s", resp.GetBody())
	return c
}

// streamChunks reads a whole stream: its chunks decoded, and each
// choice's text and finish reason by index.
func (e *env) streamChunks(t *testing.T, body []byte) (chunks []map[string]any, text map[int]string, finish map[int]string) {
	t.Helper()
	st, err := e.client.StreamChatCompletion(e.ctx(t, principalFor("t1", "k1")), &inferencev1.StreamChatCompletionRequest{Body: body})
	require.NoError(t, err)
	text, finish = map[int]string{}, map[int]string{}
	for {
		msg, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		var c map[string]any
		require.NoError(t, json.Unmarshal(msg.GetChunk(), &c))
		chunks = append(chunks, c)
		choices, _ := c["choices"].([]any)
		for _, ch := range choices {
			m, _ := ch.(map[string]any)
			idx, _ := m["index"].(float64)
			if s, ok := dig(t, m, "delta").(map[string]any)["content"].(string); ok {
				text[int(idx)] += s
			}
			if f, ok := m["finish_reason"].(string); ok {
				finish[int(idx)] = f
			}
		}
	}
	return chunks, text, finish
}

// n > 1 (ADR 0120 §1): choices indexed 0..n-1, usage summed; an upstream
// that takes n gets it in one call, a local model answers n times.
func TestChoices(t *testing.T) {
	e, fake := choicesEnv(t)
	t.Run("local model: n answers, usage of n completions", func(t *testing.T) {
		one := e.choicesChat(t, chatBody("echo", "hello there", ""))
		c := e.choicesChat(t, chatBody("echo", "hello there", `,"n":3`))
		require.Len(t, c.Choices, 3)
		for i, ch := range c.Choices {
			require.Equal(t, i, ch.Index)
			require.Equal(t, "hello there", *ch.Message.Content)
			require.Equal(t, "stop", ch.FinishReason)
			require.JSONEq(t, `null`, string(ch.Logprobs))
		}
		require.Equal(t, 3*one.Usage.PromptTokens, c.Usage.PromptTokens, "each of the 3 calls read the prompt")
		require.Equal(t, 3*one.Usage.CompletionTokens, c.Usage.CompletionTokens)
		require.Equal(t, c.Usage.PromptTokens+c.Usage.CompletionTokens, c.Usage.TotalTokens)
	})
	t.Run("OpenAI-compatible upstream: n in one call", func(t *testing.T) {
		before := fake.Requests()
		c := e.choicesChat(t, chatBody("gpt-chat", "hello there", `,"n":3`))
		require.Equal(t, before+1, fake.Requests(), "one upstream call")
		var up struct {
			N int `json:"n"`
		}
		require.NoError(t, json.Unmarshal(fake.LastBody(), &up))
		require.Equal(t, 3, up.N)
		require.Len(t, c.Choices, 3)
		for i, ch := range c.Choices {
			require.Equal(t, i, ch.Index)
		}
		require.Equal(t, "hello there", *c.Choices[0].Message.Content)
		require.Equal(t, "hello there #2", *c.Choices[2].Message.Content)
		// the fake counts 2 + 3 + 3 words, prompt 10 + len/4
		require.Equal(t, 8, c.Usage.CompletionTokens)
		require.Equal(t, 12, c.Usage.PromptTokens)
		require.NotNil(t, c.Usage.PromptTokensDetails, "the upstream's details pass through")
	})
	t.Run("streamed: every chunk names its choice", func(t *testing.T) {
		for _, model := range []string{"echo", "gpt-chat"} {
			chunks, text, finish := e.streamChunks(t, chatBody(model, "one two three", `,"n":2,"stream":true,"stream_options":{"include_usage":true}`))
			require.Equal(t, map[int]string{0: "one two three", 1: map[string]string{"echo": "one two three", "gpt-chat": "one two three #1"}[model]}, text, model)
			require.Equal(t, map[int]string{0: "stop", 1: "stop"}, finish, model)
			first, _ := chunks[0]["choices"].([]any)
			require.Len(t, first, 2, "%s: the first chunk gives each choice its role", model)
			for i, ch := range first {
				require.Equal(t, "assistant", dig(t, ch, "delta", "role"))
				require.InDelta(t, i, dig(t, ch, "index"), 0)
			}
			last := chunks[len(chunks)-1]
			require.Empty(t, last["choices"])
			u, _ := last["usage"].(map[string]any)
			require.NotNil(t, u, model)
			require.Positive(t, u["completion_tokens"], model)
		}
	})
	t.Run("fan-out usage is the sum of the calls'", func(t *testing.T) {
		_, _, _ = e.streamChunks(t, chatBody("echo", "warm", `,"stream":true`))
		one, _, _ := e.streamChunks(t, chatBody("echo", "one two three", `,"stream":true,"stream_options":{"include_usage":true}`))
		three, _, _ := e.streamChunks(t, chatBody("echo", "one two three", `,"n":3,"stream":true,"stream_options":{"include_usage":true}`))
		u1, _ := one[len(one)-1]["usage"].(map[string]any)
		u3, _ := three[len(three)-1]["usage"].(map[string]any)
		require.NotNil(t, u1)
		require.NotNil(t, u3)
		p1, _ := u1["prompt_tokens"].(float64)
		c1, _ := u1["completion_tokens"].(float64)
		require.Positive(t, p1)
		require.InDelta(t, 3*p1, u3["prompt_tokens"], 0)
		require.InDelta(t, 3*c1, u3["completion_tokens"], 0)
	})
}

// logprobs (ADR 0120 §2): passed through on an OpenAI-compatible
// upstream, answer and chunks; refused naming the provider elsewhere.
func TestLogprobs(t *testing.T) {
	e, fake := choicesEnv(t)
	t.Run("answer", func(t *testing.T) {
		c := e.choicesChat(t, chatBody("gpt-chat", "hello there", `,"logprobs":true,"top_logprobs":2`))
		var up struct {
			Logprobs    bool `json:"logprobs"`
			TopLogprobs int  `json:"top_logprobs"`
		}
		require.NoError(t, json.Unmarshal(fake.LastBody(), &up))
		require.True(t, up.Logprobs)
		require.Equal(t, 2, up.TopLogprobs)
		require.Len(t, c.Choices, 1)
		var lp struct {
			Content []struct {
				Token       string  `json:"token"`
				Logprob     float64 `json:"logprob"`
				TopLogprobs []struct {
					Token string `json:"token"`
				} `json:"top_logprobs"`
			} `json:"content"`
		}
		require.NoError(t, json.Unmarshal(c.Choices[0].Logprobs, &lp), "%s", c.Choices[0].Logprobs)
		require.Len(t, lp.Content, 2)
		require.Equal(t, "hello ", lp.Content[0].Token)
		require.Len(t, lp.Content[0].TopLogprobs, 2)
	})
	t.Run("stream", func(t *testing.T) {
		chunks, text, _ := e.streamChunks(t, chatBody("gpt-chat", "one two", `,"logprobs":true,"stream":true`))
		require.Equal(t, "one two", text[0])
		var tokens []string
		for _, c := range chunks {
			choices, _ := c["choices"].([]any)
			for _, ch := range choices {
				if lp, ok := dig(t, ch, "logprobs").(map[string]any); ok {
					content, _ := lp["content"].([]any)
					for _, tok := range content {
						s, _ := dig(t, tok, "token").(string)
						tokens = append(tokens, s)
					}
				}
			}
		}
		require.Equal(t, []string{"one ", "two"}, tokens)
	})
	t.Run("refused on a local model, naming its provider", func(t *testing.T) {
		for _, extra := range []string{`,"logprobs":true`, `,"logprobs":true,"top_logprobs":3,"stream":true`} {
			body := chatBody("echo", "x", extra)
			var err error
			if strings.Contains(extra, "stream") {
				var st inferencev1.InferenceService_StreamChatCompletionClient
				st, err = e.client.StreamChatCompletion(e.ctx(t, principalFor("t1", "k1")), &inferencev1.StreamChatCompletionRequest{Body: body})
				require.NoError(t, err)
				_, err = st.Recv()
			} else {
				_, err = e.client.ChatCompletion(e.ctx(t, principalFor("t1", "k1")), &inferencev1.ChatCompletionRequest{Body: body})
			}
			code, reason, param := errInfo(t, err)
			require.Equal(t, codes.InvalidArgument, code)
			require.Equal(t, "unsupported_parameter", reason)
			require.Equal(t, "logprobs", param)
			require.Contains(t, status.Convert(err).Message(), "provider (local)")
		}
	})
}
