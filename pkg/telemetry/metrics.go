package telemetry

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// latencyBuckets (seconds) start at 100 µs: internal calls are sub-millisecond
// and Prometheus' default buckets would put them all in the first bucket.
func latencyBuckets() []float64 {
	return []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
}

// NewRegistry returns a registry holding the Go runtime and process collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// NewServerMetrics returns gRPC server metrics (started/handled counters,
// message counters and a handling-time histogram) registered with reg.
// Install its UnaryServerInterceptor/StreamServerInterceptor and call
// InitializeMetrics once services are registered.
func NewServerMetrics(reg prometheus.Registerer) (*GRPCMetrics, error) {
	m := NewGRPCServerMetrics()
	if err := reg.Register(m); err != nil {
		return nil, fmt.Errorf("register gRPC server metrics: %w", err)
	}
	return m, nil
}

// NewClientMetrics returns gRPC client metrics registered with reg. Install
// its UnaryClientInterceptor/StreamClientInterceptor on outgoing connections.
func NewClientMetrics(reg prometheus.Registerer) (*GRPCMetrics, error) {
	m := NewGRPCClientMetrics()
	if err := reg.Register(m); err != nil {
		return nil, fmt.Errorf("register gRPC client metrics: %w", err)
	}
	return m, nil
}
