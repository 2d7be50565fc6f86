// Package sdkcheck checks what the official openai-go SDK reports of an
// error answer: RequireAPIError asserts OpenAI's exact error shape (HTTP
// status, type, code, param, a message) on the SDK's *openai.Error
// (CheckAPIError returns it for more checks), for
// the tests that drive the edge with the SDK (the edge's own and
// tests/e2e's conformance suite).
//
// It is apart from pkg/openaitest so that only the tests using it build
// the SDK: the double's other users (inference's provider tests) keep
// their own dependencies. openaitest.RequireErrorBody is the same check
// on a raw HTTP answer.
package sdkcheck
