package telemetry

import (
	"context"
	"io"
	"strings"
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
// and buckets, counted at the same points of a call as go-grpc-middleware's
// interceptors count them — with the series of each method looked up once
// and kept. grpcprom looked five series up per unary call, hashing and
// validating their label values each time (~3 % of the edge's and ~2 % of
// inference's CPU per chat completion, issue 15); go-grpc-middleware's
// interceptors then built a CallMeta (splitting the method name) and read
// the clock four times per call (ADR 0061). A test checks both produce
// identical series.
type GRPCMetrics struct {
	started, handled, received, sent *prometheus.CounterVec
	seconds                          *prometheus.HistogramVec
	series                           sync.Map // seriesKey → *Series
	// byMethod[type] maps a full method name ("/pkg.Service/Method") to
	// its *Series: one string-keyed look-up per call.
	byMethod [4]sync.Map
}

type seriesKey struct {
	typ             interceptors.GRPCType
	service, method string
}

// The call types, as indexes of GRPCMetrics.byMethod.
const (
	unaryType = iota
	clientStreamType
	serverStreamType
	bidiStreamType
)

var typeNames = [4]interceptors.GRPCType{interceptors.Unary, interceptors.ClientStream, interceptors.ServerStream, interceptors.BidiStream}

// Series are the series of one method (type, service, method): what a call
// counts into. They keep no per-call state, so calls share them. Like
// grpcprom's, a series other than started exists only once something was
// counted in it (or InitializeMetrics made it).
type Series struct {
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
func (m *GRPCMetrics) of(typ interceptors.GRPCType, service, method string) *Series {
	k := seriesKey{typ, service, method}
	if s, ok := m.series.Load(k); ok {
		return s.(*Series) //nolint:errcheck,forcetypeassert // only *Series are stored
	}
	s := &Series{m: m, labels: [3]string{string(typ), service, method}}
	s.started = m.started.WithLabelValues(s.labels[:]...)
	actual, _ := m.series.LoadOrStore(k, s)
	return actual.(*Series) //nolint:errcheck,forcetypeassert // only *Series are stored
}

// byName returns the series of a call of type typ (an index of byMethod)
// to fullMethod, labelled as go-grpc-middleware labels it.
func (m *GRPCMetrics) byName(typ int, fullMethod string) *Series {
	if s, ok := m.byMethod[typ].Load(fullMethod); ok {
		return s.(*Series) //nolint:errcheck,forcetypeassert // only *Series are stored
	}
	service, method := splitFullMethodName(fullMethod)
	s := m.of(typeNames[typ], service, method)
	m.byMethod[typ].Store(fullMethod, s)
	return s
}

// splitFullMethodName is go-grpc-middleware's (interceptors/callmeta.go):
// the series' service and method labels.
func splitFullMethodName(fullMethod string) (string, string) {
	fullMethod = strings.TrimPrefix(fullMethod, "/")
	if i := strings.Index(fullMethod, "/"); i >= 0 {
		return fullMethod[:i], fullMethod[i+1:]
	}
	return "unknown", "unknown"
}

// Unary returns the series of a unary call to fullMethod.
func (m *GRPCMetrics) Unary(fullMethod string) *Series { return m.byName(unaryType, fullMethod) }

// Stream returns the series of a streaming call to fullMethod with the
// given directions (both false counts as bidirectional, as
// go-grpc-middleware's types do).
func (m *GRPCMetrics) Stream(fullMethod string, clientStreams, serverStreams bool) *Series {
	typ := bidiStreamType
	switch {
	case clientStreams && !serverStreams:
		typ = clientStreamType
	case !clientStreams && serverStreams:
		typ = serverStreamType
	}
	return m.byName(typ, fullMethod)
}

// counter returns counters[i], binding it to its series on first use (two
// callers racing bind the same child: the vector hands out one per labels).
func (s *Series) counter(i int, code codes.Code) prometheus.Counter {
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
func (s *Series) handledBy(code codes.Code) prometheus.Counter {
	if code > codes.Unauthenticated { // not one of the 17 codes: not kept
		return s.m.handled.WithLabelValues(s.labels[0], s.labels[1], s.labels[2], code.String())
	}
	return s.counter(handledIdx+int(code), code)
}

func (s *Series) observer() prometheus.Observer {
	if o := s.seconds.Load(); o != nil {
		return *o
	}
	o := s.m.seconds.WithLabelValues(s.labels[:]...)
	s.seconds.Store(&o)
	return o
}

// Started counts a call's start.
func (s *Series) Started() { s.started.Inc() }

// Received counts a message received (also an attempt that failed, as
// go-grpc-middleware counts it).
func (s *Series) Received() { s.counter(receivedIdx, 0).Inc() }

// Sent counts a message sent (also an attempt that failed).
func (s *Series) Sent() { s.counter(sentIdx, 0).Inc() }

// Handled counts a call's end with err's code (context errors as the
// server maps them, as grpcprom derives it) and observes its duration d.
func (s *Series) Handled(err error, d time.Duration) {
	st, ok := status.FromError(err)
	if !ok {
		st = status.FromContextError(err)
	}
	s.handledBy(st.Code()).Inc()
	s.observer().Observe(d.Seconds())
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

// UnaryServerInterceptor counts unary calls served: started and the
// request received before the handler, the answer sent (also on an error),
// handled and its duration after it.
func (m *GRPCMetrics) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		s := m.Unary(info.FullMethod)
		s.Started()
		s.Received()
		resp, err := handler(ctx, req)
		s.Sent()
		s.Handled(err, time.Since(start))
		return resp, err
	}
}

// StreamServerInterceptor counts streams served: started, every message
// received and sent (ServerStream wraps the stream), handled at the end.
func (m *GRPCMetrics) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		start := time.Now()
		s := m.Stream(info.FullMethod, info.IsClientStream, info.IsServerStream)
		s.Started()
		err := handler(srv, &ServerStream{ServerStream: ss, Ctx: ss.Context(), Series: s})
		s.Handled(err, time.Since(start))
		return err
	}
}

// ServerStream counts the messages of a served stream into Series and
// answers Context with Ctx.
type ServerStream struct {
	grpc.ServerStream
	Ctx    context.Context //nolint:containedctx // a stream's context, as grpc.ServerStream's
	Series *Series
}

// Context implements grpc.ServerStream.
func (s *ServerStream) Context() context.Context { return s.Ctx }

// SendMsg implements grpc.ServerStream.
func (s *ServerStream) SendMsg(m any) error {
	err := s.ServerStream.SendMsg(m)
	s.Series.Sent()
	return err
}

// RecvMsg implements grpc.ServerStream.
func (s *ServerStream) RecvMsg(m any) error {
	err := s.ServerStream.RecvMsg(m)
	s.Series.Received()
	return err
}

// UnaryClientInterceptor counts unary calls made: started and the request
// sent before the call, the answer received (also on an error), handled
// and its duration after it.
func (m *GRPCMetrics) UnaryClientInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		start := time.Now()
		s := m.Unary(method)
		s.Started()
		s.Sent()
		err := invoker(ctx, method, req, reply, cc, opts...)
		s.Received()
		s.Handled(err, time.Since(start))
		return err
	}
}

// StreamClientInterceptor counts streams opened: started, a failed open as
// handled, every message sent and received, and handled at the first
// receive that fails (io.EOF as OK).
func (m *GRPCMetrics) StreamClientInterceptor() grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		start := time.Now()
		s := m.Stream(method, desc.ClientStreams, desc.ServerStreams)
		s.Started()
		cs, err := streamer(ctx, desc, cc, method, opts...)
		if err != nil {
			s.Handled(err, time.Since(start))
			return nil, err
		}
		return &clientStream{ClientStream: cs, start: start, s: s}, nil
	}
}

type clientStream struct {
	grpc.ClientStream
	start time.Time
	s     *Series
}

func (c *clientStream) SendMsg(m any) error {
	err := c.ClientStream.SendMsg(m)
	c.s.Sent()
	return err
}

func (c *clientStream) RecvMsg(m any) error {
	err := c.ClientStream.RecvMsg(m)
	c.s.Received()
	if err == nil {
		return nil
	}
	var postErr error
	if err != io.EOF { //nolint:errorlint // go-grpc-middleware's test: grpc-go returns io.EOF itself
		postErr = err
	}
	c.s.Handled(postErr, time.Since(c.start))
	return err
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
			s := m.of(typ, service, mi.Name)
			s.counter(receivedIdx, 0)
			s.counter(sentIdx, 0)
			s.observer()
			for _, code := range interceptors.AllCodes {
				s.handledBy(code)
			}
		}
	}
}
