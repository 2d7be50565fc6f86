package wire_test

import (
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/inference/internal/wire"
)

var encodeTexts = []string{"", "Hello!", "a\"b\\c", "\b\f\n\r\t\x00\x1f\x7f", "<b>&</b>", "é 日本 😀", "\u2028\u2029", "bad \xff utf-8"}

func randomCompletion(rng *rand.Rand) wire.ChatCompletion {
	text := func() string { return encodeTexts[rng.IntN(len(encodeTexts))] }
	ptr := func() *string {
		if rng.IntN(2) == 0 {
			return nil
		}
		s := text()
		return &s
	}
	c := wire.ChatCompletion{ID: text(), Object: "chat.completion", Created: rng.Int64N(1 << 40), Model: text(), SystemFingerprint: ptr()}
	if rng.IntN(5) > 0 {
		c.Choices = []wire.Choice{}
		for i := range rng.IntN(3) {
			ch := wire.Choice{Index: i, Message: wire.ResponseMessage{Role: text(), Content: ptr(), Refusal: ptr()}, Logprobs: wire.NullRaw, FinishReason: text()}
			for range rng.IntN(3) {
				ch.Message.ToolCalls = append(ch.Message.ToolCalls, wire.ToolCall{ID: text(), Type: text(), Function: wire.ToolCallFunction{Name: text(), Arguments: text()}})
			}
			if rng.IntN(10) == 0 {
				ch.Logprobs = json.RawMessage(`{"content": [] }`)
			}
			c.Choices = append(c.Choices, ch)
		}
	}
	if rng.IntN(2) == 0 {
		c.Usage = &wire.Usage{PromptTokens: rng.IntN(1000), CompletionTokens: rng.IntN(1000), TotalTokens: rng.IntN(2000)}
		if rng.IntN(2) == 0 {
			c.Usage.PromptTokensDetails = &wire.PromptTokensDetails{CachedTokens: rng.IntN(1000), AudioTokens: rng.IntN(10)}
		}
		if rng.IntN(2) == 0 {
			c.Usage.CompletionTokensDetails = &wire.CompletionTokensDetails{ReasoningTokens: rng.IntN(1000), AudioTokens: rng.IntN(10),
				AcceptedPredictionTokens: rng.IntN(10), RejectedPredictionTokens: rng.IntN(10)}
		}
	}
	if rng.IntN(8) == 0 {
		c.Rampart = &wire.Extension{Warning: text(), Citations: []wire.Citation{{Index: 1, Source: text(), Quote: text()}}}
	}
	return c
}

// TestEncodeCompletionMatchesMarshal: the reply's bytes are json.Marshal's.
func TestEncodeCompletionMatchesMarshal(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4)) //nolint:gosec // test data
	for range 5000 {
		c := randomCompletion(rng)
		want, err := json.Marshal(&c)
		require.NoError(t, err)
		got, err := wire.EncodeCompletion(&c)
		require.NoError(t, err)
		require.Equal(t, string(want), string(got))
	}
}

func randomChunk(rng *rand.Rand) wire.Chunk {
	text := func() string { return encodeTexts[rng.IntN(len(encodeTexts))] }
	ptr := func() *string {
		if rng.IntN(2) == 0 {
			return nil
		}
		s := text()
		return &s
	}
	c := wire.Chunk{ID: text(), Object: "chat.completion.chunk", Created: rng.Int64N(1 << 40), Model: text(), SystemFingerprint: ptr()}
	switch rng.IntN(6) {
	case 0:
		c.Usage = wire.NullRaw
	case 1:
		c.Usage = json.RawMessage(`{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}`)
	case 2:
		c.Usage = json.RawMessage(`{ "prompt_tokens" : 1 }`) // compacted by json.Marshal
	}
	if rng.IntN(5) > 0 {
		c.Choices = []wire.ChunkChoice{}
		for i := range rng.IntN(3) {
			ch := wire.ChunkChoice{Index: i, Delta: wire.Delta{Content: ptr()}, FinishReason: ptr()}
			if rng.IntN(2) == 0 {
				ch.Delta.Role = text()
			}
			switch rng.IntN(10) {
			case 0:
				ch.Logprobs = json.RawMessage(`{"content": [] }`)
			case 1: // nil: null
			default:
				ch.Logprobs = wire.NullRaw
			}
			if rng.IntN(10) == 0 {
				ch.Delta.ToolCalls = []wire.ToolCallDelta{{Index: 0, ID: text(), Function: wire.ToolCallFunction{Name: text(), Arguments: text()}}}
			}
			c.Choices = append(c.Choices, ch)
		}
	}
	if rng.IntN(8) == 0 {
		c.Rampart = &wire.Extension{Warning: text()}
	}
	return c
}

// TestEncodeChunkMatchesMarshal: a stream's chunks are json.Marshal's bytes.
// TestChunkEncoderIsEncodeChunk: one encoder over a stream of chunks whose
// head (id, object, created, model) mostly repeats and sometimes changes —
// a fallback's model, a new stream through the same encoder — writes each
// chunk as EncodeChunk does.
func TestChunkEncoderIsEncodeChunk(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8)) //nolint:gosec // test data
	var enc wire.ChunkEncoder
	head := randomChunk(rng)
	for i := range 5000 {
		c := randomChunk(rng)
		switch rng.IntN(10) {
		case 0: // a new head from here on
			head = c
		case 1: // only the model changes (a fallback)
			head.Model = c.Model
		case 2: // only the creation time
			head.Created = c.Created
		}
		c.ID, c.Object, c.Created, c.Model = head.ID, head.Object, head.Created, head.Model
		want, err := wire.EncodeChunk(&c)
		require.NoError(t, err)
		got, err := enc.Encode(&c)
		require.NoError(t, err)
		require.Equal(t, string(want), string(got), "chunk %d", i)
	}
}

func TestEncodeChunkMatchesMarshal(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6)) //nolint:gosec // test data
	for range 5000 {
		c := randomChunk(rng)
		want, err := json.Marshal(&c)
		require.NoError(t, err)
		got, err := wire.EncodeChunk(&c)
		require.NoError(t, err)
		require.Equal(t, string(want), string(got))
	}
}

// TestResponsesUsageOf: the Responses API's usage of a translated chat
// answer carries the upstream's cached and reasoning tokens (ADR 0117).
func TestResponsesUsageOf(t *testing.T) {
	tests := []struct {
		name string
		in   *wire.Usage
		want *wire.ResponsesUsage
	}{
		{"none", nil, nil},
		{"counts only", &wire.Usage{PromptTokens: 3, CompletionTokens: 4, TotalTokens: 7}, &wire.ResponsesUsage{InputTokens: 3, OutputTokens: 4, TotalTokens: 7}},
		{"details", &wire.Usage{PromptTokens: 30, CompletionTokens: 40, TotalTokens: 70,
			PromptTokensDetails:     &wire.PromptTokensDetails{CachedTokens: 16, AudioTokens: 1},
			CompletionTokensDetails: &wire.CompletionTokensDetails{ReasoningTokens: 25, AcceptedPredictionTokens: 2}},
			&wire.ResponsesUsage{InputTokens: 30, OutputTokens: 40, TotalTokens: 70,
				InputTokensDetails: wire.CachedTokens{CachedTokens: 16}, OutputTokensDetails: wire.ReasonTokens{ReasoningTokens: 25}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, wire.ResponsesUsageOf(tt.in))
		})
	}
}
