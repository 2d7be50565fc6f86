// Package middleware holds the edge's HTTP middleware: request ids, panic
// recovery, access logs and metrics, client address, body size limits,
// per-route write deadlines, security headers, CORS and the header guard
// (ambiguous credentials refused, client-sent gRPC metadata removed). The chain is
// assembled in one place, internal/router. The middlewares keep what they
// learn about a request (ids, client address, tenant) in its one
// internal/reqstate.State instead of adding context values.
package middleware
