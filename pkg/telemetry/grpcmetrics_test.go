package telemetry_test

import (
	"context"
	"errors"
	"io"
	"testing"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/rampart-platform/rampart/pkg/telemetry"
)

// interceptorSet is what both implementations offer.
type interceptorSet struct {
	unaryServer  grpc.UnaryServerInterceptor
	streamServer grpc.StreamServerInterceptor
	unaryClient  grpc.UnaryClientInterceptor
	streamClient grpc.StreamClientInterceptor
	init         func(*grpc.Server)
}

// callErrors are the outcomes every kind of call is tried with.
var callErrors = []error{nil, status.Error(codes.NotFound, "x"), status.Error(codes.Unavailable, "x"), errors.New("plain"),
	context.Canceled, context.DeadlineExceeded, status.Error(codes.Code(42), "x"), io.EOF}

type fakeServerStream struct {
	grpc.ServerStream
	recvs int
}

func (s *fakeServerStream) Context() context.Context { return context.Background() }
func (s *fakeServerStream) SendMsg(any) error        { return nil }
func (s *fakeServerStream) RecvMsg(any) error {
	if s.recvs++; s.recvs > 2 {
		return io.EOF
	}
	return nil
}

type fakeClientStream struct {
	grpc.ClientStream
	recvs int
	end   error
}

func (s *fakeClientStream) SendMsg(any) error { return nil }
func (s *fakeClientStream) RecvMsg(any) error {
	if s.recvs++; s.recvs > 2 {
		return s.end
	}
	return nil
}

// exercise sends the same calls through one implementation.
func exercise(t *testing.T, set interceptorSet) {
	t.Helper()
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	set.init(srv)
	ctx := context.Background()
	streamInfos := []*grpc.StreamServerInfo{
		{FullMethod: "/a.B/ServerStream", IsServerStream: true},
		{FullMethod: "/a.B/ClientStream", IsClientStream: true},
		{FullMethod: "/a.B/Bidi", IsClientStream: true, IsServerStream: true},
		{FullMethod: "malformed"},
	}
	descs := []*grpc.StreamDesc{{ServerStreams: true}, {ClientStreams: true}, {ClientStreams: true, ServerStreams: true}}
	for _, callErr := range callErrors {
		for _, method := range []string{"/grpc.health.v1.Health/Check", "/a.B/Unary", "nomethod"} {
			_, err := set.unaryServer(ctx, "req", &grpc.UnaryServerInfo{FullMethod: method}, func(context.Context, any) (any, error) { return "resp", callErr })
			require.ErrorIs(t, err, callErr)
			err = set.unaryClient(ctx, method, "req", nil, nil, func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error { return callErr })
			require.ErrorIs(t, err, callErr)
		}
		for _, info := range streamInfos {
			err := set.streamServer(nil, &fakeServerStream{}, info, func(_ any, ss grpc.ServerStream) error {
				for ss.RecvMsg(nil) == nil {
					_ = ss.SendMsg(nil)
				}
				return callErr
			})
			require.ErrorIs(t, err, callErr)
		}
		for i, desc := range descs {
			method := streamInfos[i].FullMethod
			// opening fails
			_, err := set.streamClient(ctx, desc, nil, method+"Open", func(context.Context, *grpc.StreamDesc, *grpc.ClientConn, string, ...grpc.CallOption) (grpc.ClientStream, error) {
				return nil, callErr
			})
			if callErr != nil {
				require.ErrorIs(t, err, callErr)
			}
			cs, err := set.streamClient(ctx, desc, nil, method, func(context.Context, *grpc.StreamDesc, *grpc.ClientConn, string, ...grpc.CallOption) (grpc.ClientStream, error) {
				end := callErr
				if end == nil {
					end = io.EOF
				}
				return &fakeClientStream{end: end}, nil
			})
			require.NoError(t, err)
			require.NoError(t, cs.SendMsg(nil))
			for err := cs.RecvMsg(nil); err == nil; err = cs.RecvMsg(nil) {
				require.NoError(t, cs.SendMsg(nil))
			}
		}
	}
}

// gather returns reg's families with the histograms reduced to their
// sample counts (the durations differ between runs) and without creation
// times.
func gather(t *testing.T, reg *prometheus.Registry) []*dto.MetricFamily {
	t.Helper()
	fams, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			if c := m.GetCounter(); c != nil {
				c.CreatedTimestamp = nil // when the series was made
			}
			if h := m.GetHistogram(); h != nil {
				require.Len(t, h.GetBucket(), 16, "the latency buckets")
				m.Histogram = &dto.Histogram{SampleCount: h.SampleCount}
			}
		}
	}
	return fams
}

// TestGRPCMetricsMatchGrpcprom: the same calls give the same families,
// help texts, series and values as go-grpc-middleware's provider with the
// buckets telemetry used it with.
func TestGRPCMetricsMatchGrpcprom(t *testing.T) {
	buckets := grpcprom.WithHistogramBuckets([]float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10})
	wantReg := prometheus.NewRegistry()
	ps := grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram(buckets))
	pc := grpcprom.NewClientMetrics(grpcprom.WithClientHandlingTimeHistogram(buckets))
	wantReg.MustRegister(ps, pc)
	exercise(t, interceptorSet{ps.UnaryServerInterceptor(), ps.StreamServerInterceptor(), pc.UnaryClientInterceptor(), pc.StreamClientInterceptor(),
		func(s *grpc.Server) { ps.InitializeMetrics(s) }})

	gotReg := prometheus.NewRegistry()
	ts, err := telemetry.NewServerMetrics(gotReg)
	require.NoError(t, err)
	tc, err := telemetry.NewClientMetrics(gotReg)
	require.NoError(t, err)
	exercise(t, interceptorSet{ts.UnaryServerInterceptor(), ts.StreamServerInterceptor(), tc.UnaryClientInterceptor(), tc.StreamClientInterceptor(),
		func(s *grpc.Server) { ts.InitializeMetrics(s) }})

	want, got := gather(t, wantReg), gather(t, gotReg)
	require.Len(t, got, len(want))
	for i := range want {
		require.Equal(t, want[i].String(), got[i].String())
	}
	require.Len(t, want, 10)
}
