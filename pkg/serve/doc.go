// Package serve runs a Rampart gRPC service: mTLS 1.3 listener, the standard
// interceptor chain, health and reflection, an admin HTTP server with
// /metrics, /healthz and /readyz, and an orderly shutdown.
//
// Interceptor steps, outermost first:
//
//	request id → recovery → access log → metrics → authz → Extra… → grpcerr
//
// The request id comes first so that a recovered panic and the access log
// line both carry it; grpcerr is innermost so logs and metrics see the final
// status code. The steps run in one interceptor (Server.unary and
// Server.stream, ADR 0061), with Options' Extra interceptors chained inside
// it: seven chained interceptors cost a closure each per call.
//
// Shutdown order on context cancel: readiness false and health NOT_SERVING →
// drain delay (load balancers notice) → GracefulStop with a deadline, then
// Stop → admin server closed → OnShutdown closers (stores) in reverse order.
package serve
