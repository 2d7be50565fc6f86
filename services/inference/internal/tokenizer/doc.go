// Package tokenizer counts tokens when a provider reports no usage.
//
// OpenAI-style models (an openai upstream whose model name tiktoken knows,
// e.g. gpt-4o → o200k_base, gpt-4/gpt-3.5 → cl100k_base, or a registry
// "tokenizer" naming an encoding) are counted with
// github.com/pkoukk/tiktoken-go and its offline BPE loader
// (tiktoken-go-loader, which embeds the vocabularies: no download at run
// time). Vocabularies load lazily on the first count that needs them (tens
// of MB of heap for o200k_base), so a deployment whose upstreams report
// usage never pays for them. Every other model keeps the documented
// estimate of provider.EstimateTokens (4 bytes per token).
package tokenizer
