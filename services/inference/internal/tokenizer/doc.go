// Package tokenizer counts tokens when a provider reports no usage.
//
// OpenAI-style models (an openai upstream whose model name tiktoken knows,
// e.g. gpt-4o → o200k_base, gpt-4/gpt-3.5 → cl100k_base, or a registry
// "tokenizer" naming an encoding) are counted exactly as
// github.com/pkoukk/tiktoken-go counts them (EncodeOrdinary; a test
// compares every count over a corpus of text in many scripts): the same
// pre-tokenising regular expressions on the same engine (regexp2), the
// same byte-pair merge, over the vocabularies tiktoken-go-loader embeds (no
// download at run time). The vocabulary is kept compactly (vocab.go: the
// token bytes in one slice and an open-addressed table of ranks), 6.4 MB
// of heap for both encodings where tiktoken-go's maps kept 35 MB (ADR
// 0056), and loads lazily on the first count that needs it, so a
// deployment whose upstreams report usage never pays for it. Every other
// model keeps the documented estimate of provider.EstimateTokens (4 bytes
// per token).
package tokenizer
