package wire

// IgnoredParameters are accepted for SDK compatibility: frequency_penalty,
// presence_penalty and parallel_tool_calls are forwarded to OpenAI-compatible
// upstreams and ignored by local and Bedrock models; store and metadata are
// never forwarded (no upstream keeps conversations on Rampart's key);
// safety_identifier and prompt_cache_key, the SDKs' successors of user, are
// never forwarded either (not every OpenAI-compatible server knows them;
// ADR 0096); modalities and service_tier only with the values that ask for
// what Rampart does anyway (["text"]; "auto" or "default"), never forwarded
// (ADR 0135 §1). Any other parameter not in ChatRequest is refused with 400
// code "unsupported_parameter" naming it.
var IgnoredParameters = []string{"frequency_penalty", "presence_penalty", "parallel_tool_calls", "store", "metadata",
	"safety_identifier", "prompt_cache_key", "modalities", "service_tier"}

// UnservedParameters are OpenAI request parameters Rampart refuses (400
// unsupported_parameter, as any unknown one): named as OpenAI names a
// parameter a model does not take, not as an unrecognized argument, so a
// client sees it is not a typo (ADR 0096). Chat takes modalities,
// service_tier, reasoning_effort, verbosity and logit_bias since ADR 0135; they stay
// here for the other endpoints that do not.
var UnservedParameters = map[string]bool{
	"logit_bias": true, "audio": true, "modalities": true, "prediction": true,
	"reasoning_effort": true, "service_tier": true, "web_search_options": true, "functions": true,
	"function_call": true, "verbosity": true, "prompt": true, "conversation": true, "max_tool_calls": true,
}
