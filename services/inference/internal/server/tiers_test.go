package server_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
)

// ADR 0135: reasoning_effort and verbosity reach an OpenAI-compatible
// upstream and are refused, naming the provider, on a model whose provider
// has no such setting; modalities ["text"] and service_tier "auto" or
// "default" are taken (what Rampart does anyway) and never forwarded, any
// other value refused naming the member.
func TestReasoningAndTiers(t *testing.T) {
	e, fake := choicesEnv(t)
	t.Run("reasoning settings forwarded, defaults not", func(t *testing.T) {
		c := e.choicesChat(t, chatBody("gpt-chat", "hello there",
			`,"reasoning_effort":"xhigh","verbosity":"high","modalities":["text"],"service_tier":"auto"`))
		require.Len(t, c.Choices, 1)
		var up map[string]any
		require.NoError(t, json.Unmarshal(fake.LastBody(), &up))
		require.Equal(t, "xhigh", up["reasoning_effort"], "a value of OpenAI's, which the upstream judges")
		require.Equal(t, "high", up["verbosity"])
		require.NotContains(t, up, "modalities")
		require.NotContains(t, up, "service_tier")
	})
	t.Run("the defaults on a local model", func(t *testing.T) {
		for _, extra := range []string{`,"modalities":["text"]`, `,"service_tier":"default"`, `,"service_tier":"auto","modalities":null`} {
			c := e.choicesChat(t, chatBody("echo", "hello there", extra))
			require.Equal(t, "hello there", *c.Choices[0].Message.Content, extra)
		}
	})
	for _, tc := range []struct {
		name, model, extra, reason, param, says string
	}{
		{"reasoning_effort on a local model", "echo", `,"reasoning_effort":"high"`, "unsupported_parameter", "reasoning_effort", "provider (local)"},
		{"verbosity on a local model", "echo", `,"verbosity":"low"`, "unsupported_parameter", "verbosity", "provider (local)"},
		{"reasoning_effort not a word", "gpt-chat", `,"reasoning_effort":"Max Effort!"`, "", "reasoning_effort", "medium"},
		{"verbosity not a word", "gpt-chat", `,"verbosity":"very\nloud"`, "", "verbosity", "medium"},
		{"audio output", "gpt-chat", `,"modalities":["text","audio"]`, "unsupported_value", "modalities[1]", `"audio"`},
		{"a paid tier", "gpt-chat", `,"service_tier":"priority"`, "unsupported_value", "service_tier", `"priority"`},
		{"flex", "echo", `,"service_tier":"flex"`, "unsupported_value", "service_tier", `"flex"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := fake.Requests()
			_, err := e.client.ChatCompletion(e.ctx(t, principalFor("t1", "k1")),
				&inferencev1.ChatCompletionRequest{Body: chatBody(tc.model, "x", tc.extra)})
			code, reason, param := errInfo(t, err)
			require.Equal(t, codes.InvalidArgument, code)
			if tc.reason != "" {
				require.Equal(t, tc.reason, reason)
			}
			require.Equal(t, tc.param, param)
			require.Contains(t, status.Convert(err).Message(), tc.says)
			require.Equal(t, before, fake.Requests(), "refused before any upstream call")
		})
	}
	t.Run("stream_options.include_obfuscation either way, not forwarded", func(t *testing.T) {
		for _, model := range []string{"echo", "gpt-chat"} {
			for _, v := range []string{"false", "true"} {
				chunks, text, finish := e.streamChunks(t, chatBody(model, "hello there",
					`,"stream":true,"stream_options":{"include_usage":true,"include_obfuscation":`+v+`}`))
				require.Equal(t, "hello there", text[0])
				require.Equal(t, "stop", finish[0])
				require.NotNil(t, chunks[len(chunks)-1]["usage"], "include_usage still served")
				for _, c := range chunks {
					require.NotContains(t, c, "obfuscation")
				}
			}
			if model == "gpt-chat" {
				require.NotContains(t, string(fake.LastBody()), "obfuscation")
			}
		}
	})
	t.Run("refused on a local model when streamed too", func(t *testing.T) {
		st, err := e.client.StreamChatCompletion(e.ctx(t, principalFor("t1", "k1")),
			&inferencev1.StreamChatCompletionRequest{Body: chatBody("echo", "x", `,"stream":true,"reasoning_effort":"low"`)})
		require.NoError(t, err)
		_, err = st.Recv()
		code, reason, param := errInfo(t, err)
		require.Equal(t, codes.InvalidArgument, code)
		require.Equal(t, "unsupported_parameter", reason)
		require.Equal(t, "reasoning_effort", param)
	})
}
