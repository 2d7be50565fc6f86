// Package apierr is the inference service's domain error: an OpenAI-shaped
// error (type, code, param, message) plus the kind of failure, which the
// gRPC server maps to a status once (internal/server) and the edge maps to
// the HTTP status OpenAI uses. Messages never contain secrets or upstream
// response bodies.
package apierr
