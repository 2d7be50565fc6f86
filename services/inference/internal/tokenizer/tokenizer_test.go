package tokenizer_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/inference/internal/tokenizer"
)

func TestFor(t *testing.T) {
	tests := []struct {
		provider, model, configured string
		exact                       bool
		text                        string
		want                        int
	}{
		{"openai", "gpt-4", "", true, "tiktoken is great!", 6}, // cl100k_base
		{"openai", "gpt-3.5-turbo-0125", "", true, "hello world", 2},
		{"openai", "gpt-4o-mini", "", true, "hello world", 2}, // o200k_base
		{"openai", "gpt-4o-2024-05-13", "", true, "", 0},
		{"openai", "llama3.1:8b", "", false, "hello world", 3}, // unknown to tiktoken: estimate
		{"bedrock", "gpt-4", "", false, "hello world", 3},
		{"local", "echo", "cl100k_base", true, "tiktoken is great!", 6},
		{"openai", "gpt-4", "estimate", false, "tiktoken is great!", 5},
	}
	for _, tt := range tests {
		t.Run(tt.provider+"/"+tt.model+"/"+tt.configured, func(t *testing.T) {
			c := tokenizer.For(tt.provider, tt.model, tt.configured)
			require.Equal(t, tt.exact, c.Exact())
			require.Equal(t, tt.want, c.Count(tt.text))
		})
	}
}

func TestCheck(t *testing.T) {
	for _, ok := range []string{"", "estimate", "cl100k_base", "o200k_base"} {
		require.NoError(t, tokenizer.Check(ok))
	}
	require.Error(t, tokenizer.Check("gpt2"))
}

func BenchmarkCountCL100K(b *testing.B) {
	c := tokenizer.For("openai", "gpt-4", "")
	text := "The quick brown fox jumps over the lazy dog, and then it writes a short essay about tokenizers."
	c.Count(text)
	b.ReportAllocs()
	for b.Loop() {
		c.Count(text)
	}
}
