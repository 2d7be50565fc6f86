// Package httperr is the one JSON error writer of the edge. Every edge route,
// the grpc-gateway error handlers and the OpenAI-compatible handlers write
// errors through it, so every client sees the same shape — OpenAI's:
//
//	{"error":{"message":"...","type":"invalid_request_error","param":"name","code":"invalid_argument"}}
//
// gRPC statuses from backends are mapped to HTTP statuses here and nowhere
// else. Internal errors never carry details to the client: the message names
// the request id, and the cause is logged with it.
package httperr
