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
func EstimatePrompt(r *wire.ChatRequest) int {
	n := 3
	for i := range r.Messages {
		m := &r.Messages[i]
		n += 4 + EstimateTokens(m.Content.Text) + EstimateTokens(m.Name)
		for _, tc := range m.ToolCalls {
			n += EstimateTokens(tc.Function.Name) + EstimateTokens(tc.Function.Arguments)
		}
	}
	for _, t := range r.Tools {
		n += EstimateTokens(t.Function.Name) + EstimateTokens(t.Function.Description) + EstimateTokens(string(t.Function.Parameters))
	}
	return n
}
