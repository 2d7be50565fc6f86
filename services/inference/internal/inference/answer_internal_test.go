package inference

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/inference/internal/wire"
)

// TestAnswerFastIsEncodeCompletion: a chat completion written from the
// stack (appendFast) is byte for byte what wire.EncodeCompletion writes for
// the same answer built on the heap (chatCompletion), which the slow path
// and the extension use; an answer with an extension carries it.
func TestAnswerFastIsEncodeCompletion(t *testing.T) {
	calls := []wire.ToolCall{{ID: "call_1", Type: "function", Function: wire.ToolCallFunction{Name: "get_weather", Arguments: `{"city":"Zürich"}`}}}
	for name, a := range map[string]answer{
		"plain":                  {id: "chatcmpl-1", model: "gpt-4o-mini", created: 1765000000, content: "Hello!", hasContent: true, finish: "stop", prompt: 12, completion: 11},
		"empty content":          {id: "chatcmpl-2", model: "m", created: 1, content: "", hasContent: true, finish: "stop"},
		"escapes and unicode":    {id: "chatcmpl-3", model: "m", content: "\"q\" \\ \n\t\x01 <a>&amp; \u2028 é 😀 \xff", hasContent: true, finish: "length", prompt: 1 << 40},
		"tool calls, no content": {id: "chatcmpl-4", model: "m", toolCalls: calls, finish: "tool_calls", prompt: 3, completion: 4},
		"tool calls and content": {id: "chatcmpl-5", model: "an-assistant", content: "checking", hasContent: true, toolCalls: calls, finish: "tool_calls"},
		"usage details": {id: "chatcmpl-7", model: "m", content: "x", hasContent: true, finish: "stop", prompt: 9, completion: 8,
			promptDetails: &wire.PromptTokensDetails{CachedTokens: 4, AudioTokens: 1}, completionDetails: &wire.CompletionTokensDetails{ReasoningTokens: 5, AudioTokens: 2, AcceptedPredictionTokens: 3, RejectedPredictionTokens: 6}},
		"prompt details only": {id: "chatcmpl-8", model: "m", content: "x", hasContent: true, finish: "stop", prompt: 9, promptDetails: &wire.PromptTokensDetails{CachedTokens: 4}},
	} {
		t.Run(name, func(t *testing.T) {
			want, err := wire.EncodeCompletion(a.chatCompletion(nil))
			require.NoError(t, err)
			got := a.appendFast()
			require.NotNil(t, got, "the fast path writes every answer without an extension")
			require.Equal(t, string(want), string(got))
			require.True(t, json.Valid(got))
		})
	}
	a := answer{id: "chatcmpl-6", model: "m", content: "c", hasContent: true, finish: "stop"}
	b, err := wire.EncodeCompletion(a.chatCompletion(&wire.Extension{Warning: "no documents"}))
	require.NoError(t, err)
	require.Contains(t, string(b), `"rampart":{`)
	require.Contains(t, string(b), `"no documents"`)
}
