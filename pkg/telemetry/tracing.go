package telemetry

import (
	"context"
	"fmt"
	"io"
	"os"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	noopmetric "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc"
)

// EnvExporter selects the trace exporter: unset, "" or "none" (default) turn
// tracing off; "stdout" writes spans as JSON.
const EnvExporter = "RAMPART_OTEL_EXPORTER"

// TracingConfig configures NewTracing.
type TracingConfig struct {
	Exporter    string    // "", "none" or "stdout"
	ServiceName string    // resource attribute service.name
	Writer      io.Writer // stdout exporter destination; os.Stdout when nil
}

// Tracing holds the tracer provider, if tracing is on. A nil *Tracing or one
// built with tracing off is valid and adds nothing.
type Tracing struct {
	tp   *sdktrace.TracerProvider
	opts []otelgrpc.Option
}

// TracingFromEnv reads EnvExporter through getenv (os.Getenv in main) and
// calls NewTracing.
func TracingFromEnv(getenv func(string) string, serviceName string) (*Tracing, error) {
	return NewTracing(TracingConfig{Exporter: getenv(EnvExporter), ServiceName: serviceName})
}

// NewTracing builds the tracer provider for cfg.
func NewTracing(cfg TracingConfig) (*Tracing, error) {
	switch cfg.Exporter {
	case "", "none":
		return &Tracing{}, nil
	case "stdout":
	default:
		return nil, fmt.Errorf("%s=%q: want none or stdout", EnvExporter, cfg.Exporter)
	}
	w := cfg.Writer
	if w == nil {
		w = os.Stdout
	}
	exp, err := stdouttrace.New(stdouttrace.WithWriter(w))
	if err != nil {
		return nil, fmt.Errorf("tracing: stdout exporter: %w", err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", cfg.ServiceName))),
	)
	return &Tracing{tp: tp, opts: []otelgrpc.Option{
		otelgrpc.WithTracerProvider(tp),
		// Explicit providers keep otelgrpc off OpenTelemetry's globals;
		// metrics come from Prometheus, not from OTel.
		otelgrpc.WithPropagators(propagation.TraceContext{}),
		otelgrpc.WithMeterProvider(noopmetric.NewMeterProvider()),
	}}, nil
}

// Enabled reports whether spans are recorded.
func (t *Tracing) Enabled() bool { return t != nil && t.tp != nil }

// ServerOptions returns the gRPC server options that trace incoming calls.
func (t *Tracing) ServerOptions() []grpc.ServerOption {
	if !t.Enabled() {
		return nil
	}
	return []grpc.ServerOption{grpc.StatsHandler(otelgrpc.NewServerHandler(t.opts...))}
}

// DialOptions returns the gRPC dial options that trace outgoing calls and
// propagate the trace context.
func (t *Tracing) DialOptions() []grpc.DialOption {
	if !t.Enabled() {
		return nil
	}
	return []grpc.DialOption{grpc.WithStatsHandler(otelgrpc.NewClientHandler(t.opts...))}
}

// Shutdown flushes buffered spans.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if !t.Enabled() {
		return nil
	}
	if err := t.tp.Shutdown(ctx); err != nil {
		return fmt.Errorf("tracing shutdown: %w", err)
	}
	return nil
}
