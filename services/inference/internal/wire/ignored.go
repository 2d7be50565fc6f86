package wire

// IgnoredParameters are accepted for SDK compatibility: frequency_penalty,
// presence_penalty and parallel_tool_calls are forwarded to OpenAI-compatible
// upstreams and ignored by local and Bedrock models; store and metadata are
// never forwarded (no upstream keeps conversations on Rampart's key);
// logprobs=false has no effect.
// logprobs=true is refused with 400. Any other parameter not in ChatRequest
// is refused with 400 code "unsupported_parameter" naming it.
var IgnoredParameters = []string{"frequency_penalty", "presence_penalty", "parallel_tool_calls", "store", "metadata", "logprobs"}
