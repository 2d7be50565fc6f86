package provider

import "github.com/rampart-platform/rampart/services/inference/internal/wire"

// EstimateTokens estimates the tokens of s when a provider reports none:
// one token per 4 bytes, rounded up, at least 1 for non-empty text. English
// text averages about 4 bytes per token in cl100k-style BPE vocabularies,
// so quotas charged from this estimate are close to real for OpenAI-style
// models and conservative for CJK text (3 bytes per rune in UTF-8).
func EstimateTokens(s string) int {
	if s == "" {
		return 0
	}
	return (len(s) + 3) / 4
}

// EstimatePrompt estimates a request's prompt tokens: text of every message
// and tool definition plus 4 tokens of framing per message, 3 for the reply
// primer (OpenAI's published accounting for chat formats).
func EstimatePrompt(r *wire.ChatRequest) int { return CountPrompt(r, EstimateTokens, 4) }

// CountPrompt counts a request's prompt tokens with count: every message's
// text and name, tool calls and tool definitions, plus perMessage tokens of
// framing per message and 3 for the reply primer (OpenAI's cookbook uses 3
// per message with its tokenizers; the estimate uses 4).
func CountPrompt(r *wire.ChatRequest, count func(string) int, perMessage int) int {
	n := 3
	for i := range r.Messages {
		m := &r.Messages[i]
		n += perMessage + count(m.Content.Text)
		if m.Name != "" {
			n += count(m.Name)
		}
		for _, tc := range m.ToolCalls {
			n += count(tc.Function.Name) + count(tc.Function.Arguments)
		}
	}
	for _, t := range r.Tools {
		n += count(t.Function.Name) + count(t.Function.Description) + count(string(t.Function.Parameters))
	}
	return n
}
