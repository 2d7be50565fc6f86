// Package openaitest is a test double of an OpenAI-compatible upstream
// (OpenAI, vLLM, ...): an http.Handler serving /v1/chat/completions
// (JSON and SSE), /v1/embeddings and the Responses API (/v1/responses)
// in OpenAI's wire format, answering instantly and scriptable by the text
// of the last user message (tool calls, malformed chunks, error events, a
// stream that hangs until the client goes away, a stream cut before
// [DONE]) and by FailNext, APIKey and SetAPIKey.
//
// Inference's provider and service tests put it behind an httptest.Server;
// the e2e tests point a real stack's model registry at it.
//
// ErrorBody and RequireErrorBody are the one check of OpenAI's error body
// (status, JSON, type, code, param) for the tests of what the edge answers,
// in the edge's module and in tests/e2e; subpackage sdkcheck makes the same
// check on the error the openai-go SDK returns.
package openaitest
