package wire_test

import (
	"encoding/json"
	"testing"

	"github.com/rampart-platform/rampart/services/inference/internal/wire"
)

var benchBody = []byte(`{"model":"gpt-fake","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Say hello to the benchmark in a few words please."}],"max_tokens":64,"temperature":0.2}`)

// BenchmarkParseChat is the cost of parsing and validating one request: in
// the chosen design inference pays it once; a typed edge↔inference wire
// format would add a second decode at the edge (docs/adr/0007).
func BenchmarkParseChat(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := wire.ParseChat(benchBody); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeCompletion is the cost of encoding one response.
func BenchmarkEncodeCompletion(b *testing.B) {
	content := "Hello, benchmark!"
	c := wire.ChatCompletion{ID: "chatcmpl-x", Object: "chat.completion", Created: 1, Model: "gpt-fake",
		Choices: []wire.Choice{{Message: wire.ResponseMessage{Role: "assistant", Content: &content}, Logprobs: wire.NullRaw, FinishReason: "stop"}},
		Usage:   &wire.Usage{PromptTokens: 30, CompletionTokens: 5, TotalTokens: 35}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(&c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeCompletionFast is the same response through
// EncodeCompletion, which writes it without reflection.
func BenchmarkEncodeCompletionFast(b *testing.B) {
	content := "Hello, benchmark!"
	c := wire.ChatCompletion{ID: "chatcmpl-x", Object: "chat.completion", Created: 1, Model: "gpt-fake",
		Choices: []wire.Choice{{Message: wire.ResponseMessage{Role: "assistant", Content: &content}, Logprobs: wire.NullRaw, FinishReason: "stop"}},
		Usage:   &wire.Usage{PromptTokens: 30, CompletionTokens: 5, TotalTokens: 35}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := wire.EncodeCompletion(&c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeChunk is one content chunk of a stream, through
// json.Marshal and through EncodeChunk.
func BenchmarkEncodeChunk(b *testing.B) {
	content := "Hello! This is "
	c := wire.Chunk{ID: "chatcmpl-UxszJtKqtv301lw8Q17Tfa70", Object: "chat.completion.chunk", Created: 1796589789, Model: "gpt-4o-mini",
		Choices: []wire.ChunkChoice{{Delta: wire.Delta{Content: &content}, Logprobs: wire.NullRaw}}}
	for _, bc := range []struct {
		name   string
		encode func(*wire.Chunk) ([]byte, error)
	}{
		{"json.Marshal", func(c *wire.Chunk) ([]byte, error) { return json.Marshal(c) }},
		{"EncodeChunk", wire.EncodeChunk},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.encode(&c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
