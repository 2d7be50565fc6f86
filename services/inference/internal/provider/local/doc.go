// Package local is the offline provider, the default when no upstream is
// configured. None of its models is a language model:
//
//   - rampart-extractive answers by quoting the sentences of the supplied
//     context (retrieved passages, system messages, earlier user messages)
//     that share the most terms with the question, each with a citation.
//     It is deterministic, never invents text, and says so when nothing in
//     the context matches.
//   - echo answers with the last user message (tests and benchmarks). When
//     tools are offered and the last user message is "call:<name> <json>",
//     it proposes that tool call instead, so tool policy can be exercised
//     offline.
//   - rampart-hash-embed embeds text by feature hashing of words and word
//     bigrams into a configurable number of dimensions, L2-normalized.
package local
