// Package openai is the edge's OpenAI-compatible HTTP API:
//
//	POST /v1/chat/completions   JSON, or Server-Sent Events with "stream": true
//	POST /v1/completions        legacy completions (the chat RPCs, format COMPLETIONS)
//	POST /v1/responses          Responses API (the chat RPCs, format RESPONSES);
//	                            streamed as named events ("event: response.created"),
//	                            ended by response.completed without "data: [DONE]"
//	GET  /v1/responses/{id}     a stored response ("store": true), GetResponse
//	DELETE /v1/responses/{id}   deletes a stored response, DeleteResponse
//	POST /v1/embeddings
//	GET  /v1/models
//	GET  /v1/models/{id}
//
// The handlers do as little as possible on the hot path (see
// docs/adr/0007-inference-wire-format.md): they read the body once (at
// most 4 MiB, else 413), check that it is a JSON object and whether it asks
// to stream (a one-pass scanner for plain bodies, encoding/json for every
// other and every malformed one: peek.go, ADR 0054), and forward the raw bytes to inference with the caller's
// principal assertion. Inference owns OpenAI parsing, validation and
// encoding, and returns the finished JSON (or each chunk's JSON) that the
// handlers write unchanged. A client disconnect cancels the gRPC call, and
// with it the upstream request.
//
// Errors are written by internal/httperr in OpenAI's shape; the OpenAI
// error code (model_not_found, insufficient_quota, ...), type
// (invalid_request_error, insufficient_quota, tokens, ...) and param come
// from the google.rpc.ErrorInfo detail inference attaches, and so do a
// tokens-per-minute 429's x-ratelimit-*-tokens headers. Errors after a stream
// has started are sent as a final "data: {"error":...}" event, as OpenAI does
// (on /v1/responses an "event: error" with {"type":"error",...}).
//
// An API key holds at most Options.MaxStreamsPerKey chat streams open at
// once (ratelimit.Slots, shared through Redis when the edge has one), so do
// the keys minted below a limited key together (its rate pools), and a
// tenant at most Options.MaxStreamsPerTenant across all its keys (or its
// own smaller limit, ADR 0111 §3); a further stream request gets 429
// rate_limit_exceeded with param "stream" and Retry-After.
package openai
