package openai

import "testing"

// BenchmarkDecodeUsage: the upstream usage parser on an answer and a usage
// chunk, without details (the common shape of OpenAI-compatible servers)
// and with OpenAI's details (ADR 0117).
func BenchmarkDecodeUsage(b *testing.B) {
	const plain = `"usage":{"prompt_tokens":12,"completion_tokens":11,"total_tokens":23}`
	const details = `"usage":{"prompt_tokens":12,"completion_tokens":11,"total_tokens":23,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}`
	answer := func(u string) []byte {
		return []byte(`{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Hello!"},"logprobs":null,"finish_reason":"stop"}],` + u + `,"system_fingerprint":null}`)
	}
	chunk := func(u string) []byte {
		return []byte(`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],` + u + `}`)
	}
	for _, bc := range []struct {
		name string
		body []byte
		ch   bool
	}{
		{"answer/plain", answer(plain), false}, {"answer/details", answer(details), false},
		{"chunk/plain", chunk(plain), true}, {"chunk/details", chunk(details), true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if bc.ch {
					var out upstreamChunk
					if err := decodeChunk(bc.body, &out); err != nil {
						b.Fatal(err)
					}
					continue
				}
				var out upstreamCompletion
				if err := decodeAnswer(bc.body, &out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
