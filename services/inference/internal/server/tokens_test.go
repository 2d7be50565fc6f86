package server_test

import (
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	"github.com/rampart-platform/rampart/pkg/openaitest"
	"github.com/rampart-platform/rampart/services/inference/internal/servertest"
)

// When an OpenAI-compatible upstream reports no usage, OpenAI-style models
// are counted with tiktoken (offline vocabularies), others estimated.
func TestTokenCountingWithoutProviderUsage(t *testing.T) {
	reg := `{
  "upstreams": {` + fakeUpstream(t, &openaitest.Upstream{NoUsage: true}) + `},
  "models": [
    {"id": "gpt-fake", "upstream": "fake", "upstream_model": "gpt-4o-mini"},
    {"id": "gpt-cl100k", "upstream": "fake", "upstream_model": "gpt-4"},
    {"id": "llama", "upstream": "fake", "upstream_model": "llama3.1:8b"}
  ]
}`
	e := startEnv(t, servertest.Options{Models: []byte(reg)})
	tests := []struct {
		model, msg         string
		prompt, completion int
	}{
		// 3 (primer) + 3 (message) + tokens of the text; the fake echoes it.
		{"gpt-fake", "hello world", 3 + 3 + 2, 2},
		{"gpt-cl100k", "tiktoken is great!", 3 + 3 + 6, 6},
		// Estimate: 3 + 4 per message + ceil(bytes/4).
		{"llama", "tiktoken is great!", 3 + 4 + 5, 5},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			resp, err := e.client.ChatCompletion(e.ctx(t, principalFor("t1", "k1")), &inferencev1.ChatCompletionRequest{Body: chatBody(tt.model, tt.msg, "")})
			require.NoError(t, err)
			var raw map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(resp.GetBody(), &raw))
			var u map[string]int
			require.NoError(t, json.Unmarshal(raw["usage"], &u))
			require.Equal(t, tt.prompt, u["prompt_tokens"])
			require.Equal(t, tt.completion, u["completion_tokens"])
		})
	}
}

// An upstream's usage.prompt_tokens_details and completion_tokens_details
// reach the caller, in the answer and in the include_usage chunk (ADR
// 0117); counted usage (an upstream that sends none) has no details.
func TestUpstreamUsageDetailsArePassedThrough(t *testing.T) {
	type usage struct {
		Prompt     int            `json:"prompt_tokens"`
		Completion int            `json:"completion_tokens"`
		PromptD    map[string]int `json:"prompt_tokens_details"`
		CompD      map[string]int `json:"completion_tokens_details"`
	}
	const msg = "one two three four five six seven eight"
	for _, tt := range []struct {
		name    string
		noUsage bool
	}{{"reported", false}, {"counted", true}} {
		t.Run(tt.name, func(t *testing.T) {
			reg := `{"upstreams": {` + fakeUpstream(t, &openaitest.Upstream{NoUsage: tt.noUsage}) + `},
  "models": [{"id": "gpt-fake", "upstream": "fake", "upstream_model": "gpt-4o-mini"}]}`
			e := startEnv(t, servertest.Options{Models: []byte(reg)})
			check := func(raw json.RawMessage) {
				t.Helper()
				var u usage
				require.NoError(t, json.Unmarshal(raw, &u))
				if tt.noUsage {
					require.NotContains(t, string(raw), "details")
					return
				}
				// The fake caches half the prompt and reasons half the completion.
				require.Equal(t, map[string]int{"cached_tokens": u.Prompt / 2, "audio_tokens": 0}, u.PromptD)
				require.Equal(t, map[string]int{"reasoning_tokens": u.Completion / 2, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}, u.CompD)
				require.Positive(t, u.CompD["reasoning_tokens"])
			}

			resp, err := e.client.ChatCompletion(e.ctx(t, principalFor("t1", "k1")), &inferencev1.ChatCompletionRequest{Body: chatBody("gpt-fake", msg, "")})
			require.NoError(t, err)
			var c map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(resp.GetBody(), &c))
			check(c["usage"])

			st, err := e.client.StreamChatCompletion(e.ctx(t, principalFor("t1", "k1")), &inferencev1.StreamChatCompletionRequest{
				Body: chatBody("gpt-fake", msg, `,"stream":true,"stream_options":{"include_usage":true}`)})
			require.NoError(t, err)
			var last map[string]json.RawMessage
			for {
				m, err := st.Recv()
				if errors.Is(err, io.EOF) {
					break
				}
				require.NoError(t, err)
				last = nil
				require.NoError(t, json.Unmarshal(m.GetChunk(), &last))
			}
			require.JSONEq(t, `[]`, string(last["choices"]))
			check(last["usage"])
		})
	}
}
