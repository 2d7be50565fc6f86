package telemetry

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
)

// GRPCMetrics are the gRPC server or client metrics of go-grpc-middleware's
// Prometheus provider (grpcprom) — the same families, help texts, labels
// and buckets, counted at the same points of a call by the same
// interceptors (go-grpc-middleware's interceptors package) — with the
// series of each (type, service, method) looked up once and kept. grpcprom
// looked five series up per unary call, hashing and validating their label
// values each time (~3 % of the edge's and ~2 % of inference's CPU per chat
// completion, issue 15). A test checks both produce identical series.
type GRPCMetrics struct {
	started, handled, received, sent *prometheus.CounterVec
	seconds                          *prometheus.HistogramVec
	series                           sync.Map // seriesKey → *callSeries
}

type seriesKey struct {
	typ             interceptors.GRPCType
	service, method string
}

// callSeries are one method's series; it is the call's Reporter (it keeps
// no per-call state, so calls share it). Like grpcprom's, a series other
// than started exists only once something was counted in it (or
// InitializeMetrics made it).
type callSeries struct {
	m       *GRPCMetrics
	labels  [3]string // type, service, method
	started prometheus.Counter
	seconds atomic.Pointer[prometheus.Observer]
	// received, sent, then handled by code (codes.OK … codes.DataLoss)
	counters [2 + 17]atomic.Pointer[prometheus.Counter]
}

const (
	receivedIdx = 0
	sentIdx     = 1
	handledIdx  = 2
)

// newGRPCMetrics makes the families from {name, help} pairs: started,
// handled, messages received, messages sent, handling seconds.
func newGRPCMetrics(f [5][2]string) *GRPCMetrics {
	labels := []string{"grpc_type", "grpc_service", "grpc_method"}
	counter := func(f [2]string, labels []string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: f[0], Help: f[1]}, labels)
	}
	return &GRPCMetrics{
		started:  counter(f[0], labels),
		handled:  counter(f[1], append(labels[:3:3], "grpc_code")),
		received: counter(f[2], labels),
		sent:     counter(f[3], labels),
		seconds:  prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: f[4][0], Help: f[4][1], Buckets: latencyBuckets()}, labels),
	}
}

// Describe implements prometheus.Collector.
func (m *GRPCMetrics) Describe(ch chan<- *prometheus.Desc) {
	m.started.Describe(ch)
	m.handled.Describe(ch)
	m.received.Describe(ch)
	m.sent.Describe(ch)
	m.seconds.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *GRPCMetrics) Collect(ch chan<- prometheus.Metric) {
	m.started.Collect(ch)
	m.handled.Collect(ch)
	m.received.Collect(ch)
	m.sent.Collect(ch)
	m.seconds.Collect(ch)
}

// of returns the series of one (type, service, method).
func (m *GRPCMetrics) of(c interceptors.CallMeta) *callSeries {
	k := seriesKey{c.Typ, c.Service, c.Method}
	if s, ok := m.series.Load(k); ok {
		return s.(*callSeries) //nolint:errcheck,forcetypeassert // only *callSeries are stored
	}
	s := &callSeries{m: m, labels: [3]string{string(c.Typ), c.Service, c.Method}}
	s.started = m.started.WithLabelValues(s.labels[:]...)
	actual, _ := m.series.LoadOrStore(k, s)
	return actual.(*callSeries) //nolint:errcheck,forcetypeassert // only *callSeries are stored
}

// counter returns counters[i], binding it to its series on first use (two
// callers racing bind the same child: the vector hands out one per labels).
func (s *callSeries) counter(i int, code codes.Code) prometheus.Counter {
	if c := s.counters[i].Load(); c != nil {
		return *c
	}
	var c prometheus.Counter
	switch i {
	case receivedIdx:
		c = s.m.received.WithLabelValues(s.labels[:]...)
	case sentIdx:
		c = s.m.sent.WithLabelValues(s.labels[:]...)
	default:
		c = s.m.handled.WithLabelValues(s.labels[0], s.labels[1], s.labels[2], code.String())
	}
	s.counters[i].Store(&c)
	return c
}

// handledBy returns the handled counter of code.
func (s *callSeries) handledBy(code codes.Code) prometheus.Counter {
	if code > codes.Unauthenticated { // not one of the 17 codes: not kept
		return s.m.handled.WithLabelValues(s.labels[0], s.labels[1], s.labels[2], code.String())
	}
	return s.counter(handledIdx+int(code), code)
}

func (s *callSeries) observer() prometheus.Observer {
	if o := s.seconds.Load(); o != nil {
		return *o
	}
	o := s.m.seconds.WithLabelValues(s.labels[:]...)
	s.seconds.Store(&o)
	return o
}

// PostCall implements interceptors.Reporter: the code as grpcprom derives
// it (context errors as the server maps them).
func (s *callSeries) PostCall(err error, d time.Duration) {
	st, ok := status.FromError(err)
	if !ok {
		st = status.FromContextError(err)
	}
	s.handledBy(st.Code()).Inc()
	s.observer().Observe(d.Seconds())
}

// PostMsgSend implements interceptors.Reporter.
func (s *callSeries) PostMsgSend(any, error, time.Duration) { s.counter(sentIdx, 0).Inc() }

// PostMsgReceive implements interceptors.Reporter.
func (s *callSeries) PostMsgReceive(any, error, time.Duration) {
	s.counter(receivedIdx, 0).Inc()
}

// NewGRPCServerMetrics returns the server side's (grpc_server_*).
func NewGRPCServerMetrics() *GRPCMetrics {
	return newGRPCMetrics([5][2]string{
		{"grpc_server_started_total", "Total number of RPCs started on the server."},
		{"grpc_server_handled_total", "Total number of RPCs completed on the server, regardless of success or failure."},
		{"grpc_server_msg_received_total", "Total number of RPC stream messages received on the server."},
		{"grpc_server_msg_sent_total", "Total number of gRPC stream messages sent by the server."},
		{"grpc_server_handling_seconds", "Histogram of response latency (seconds) of gRPC that had been application-level handled by the server."},
	})
}

// NewGRPCClientMetrics returns the client side's (grpc_client_*).
func NewGRPCClientMetrics() *GRPCMetrics {
	return newGRPCMetrics([5][2]string{
		{"grpc_client_started_total", "Total number of RPCs started on the client."},
		{"grpc_client_handled_total", "Total number of RPCs completed by the client, regardless of success or failure."},
		{"grpc_client_msg_received_total", "Total number of RPC stream messages received by the client."},
		{"grpc_client_msg_sent_total", "Total number of gRPC stream messages sent by the client."},
		{"grpc_client_handling_seconds", "Histogram of response latency (seconds) of the gRPC until it is finished by the application."},
	})
}

// ServerReporter implements interceptors.ServerReportable: counts the start.
func (m *GRPCMetrics) ServerReporter(ctx context.Context, c interceptors.CallMeta) (interceptors.Reporter, context.Context) {
	s := m.of(c)
	s.started.Inc()
	return s, ctx
}

// ClientReporter implements interceptors.ClientReportable: counts the start.
func (m *GRPCMetrics) ClientReporter(ctx context.Context, c interceptors.CallMeta) (interceptors.Reporter, context.Context) {
	return m.ServerReporter(ctx, c)
}

// UnaryServerInterceptor counts unary calls served.
func (m *GRPCMetrics) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return interceptors.UnaryServerInterceptor(m)
}

// StreamServerInterceptor counts streams served.
func (m *GRPCMetrics) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return interceptors.StreamServerInterceptor(m)
}

// UnaryClientInterceptor counts unary calls made.
func (m *GRPCMetrics) UnaryClientInterceptor() grpc.UnaryClientInterceptor {
	return interceptors.UnaryClientInterceptor(m)
}

// StreamClientInterceptor counts streams opened.
func (m *GRPCMetrics) StreamClientInterceptor() grpc.StreamClientInterceptor {
	return interceptors.StreamClientInterceptor(m)
}

// InitializeMetrics creates the zero series of every method server
// serves (started, messages, latency, handled for every code), as grpcprom
// does, so they are exported before the first call.
func (m *GRPCMetrics) InitializeMetrics(server reflection.ServiceInfoProvider) {
	for service, info := range server.GetServiceInfo() {
		for _, mi := range info.Methods {
			typ := interceptors.Unary
			switch {
			case mi.IsClientStream && mi.IsServerStream:
				typ = interceptors.BidiStream
			case mi.IsClientStream:
				typ = interceptors.ClientStream
			case mi.IsServerStream:
				typ = interceptors.ServerStream
			}
			s := m.of(interceptors.CallMeta{Typ: typ, Service: service, Method: mi.Name})
			s.counter(receivedIdx, 0)
			s.counter(sentIdx, 0)
			s.observer()
			for _, code := range interceptors.AllCodes {
				s.handledBy(code)
			}
		}
	}
}
