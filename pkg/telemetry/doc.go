// Package telemetry wires Prometheus metrics and OpenTelemetry tracing into
// Rampart's gRPC servers and clients.
//
// Metrics: one registry per process with the Go and process collectors plus
// the gRPC server/client metrics of go-grpc-middleware's Prometheus
// provider (same families, counted by our GRPCMetrics with each method's
// series looked up once, by its full method name), labelled only by
// service, method, type and code — never by tenant, key or any value from a
// request. Tracing is off unless RAMPART_OTEL_EXPORTER selects an exporter
// ("stdout" for now); nothing here touches OpenTelemetry's global providers.
// With tracing off no stats handler is installed: no span, context or
// attribute is made per call.
package telemetry
