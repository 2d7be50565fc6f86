package wire

// IgnoredParameters are accepted for SDK compatibility and have no effect:
// frequency_penalty, presence_penalty (the providers here have no such
// knobs or they are not forwarded), parallel_tool_calls, store, metadata
// (Rampart never stores completions for the provider), and logprobs=false.
// logprobs=true is refused with 400. Any other parameter not in ChatRequest
// is refused with 400 code "unsupported_parameter" naming it.
var IgnoredParameters = []string{"frequency_penalty", "presence_penalty", "parallel_tool_calls", "store", "metadata", "logprobs"}
