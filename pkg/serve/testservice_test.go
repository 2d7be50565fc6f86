package serve_test

import (
	"context"
	"errors"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/wrapperspb"

	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/pkg/logging"
)

type derivedKey struct{}

// A tiny test service described by hand, so these tests need no generated code.
const (
	testService = "rampart.test.v1.Test"
	echoMethod  = "/" + testService + "/Echo"
	panicMethod = "/" + testService + "/Panic"
	failMethod  = "/" + testService + "/Fail"
	reqIDMethod = "/" + testService + "/RequestID"
	badMethod   = "/" + testService + "/Invalid"
	watchMethod = "/" + testService + "/Watch"
	// CarriedID and CarriedWatch take a request message that carries the
	// call's request id (serve.RequestIDCarrier) and answer the id their
	// context holds and the x-request-id metadata received: "id|md".
	carriedIDMethod    = "/" + testService + "/CarriedID"
	carriedWatchMethod = "/" + testService + "/CarriedWatch"

	panicSecret = "panic-canary-do-not-leak"
	failDetail  = "db exploded at /var/lib/secret.db"
)

func unary(name string, h func(ctx context.Context, in *wrapperspb.StringValue) (*wrapperspb.StringValue, error)) grpc.MethodDesc {
	full := "/" + testService + "/" + name
	return grpc.MethodDesc{MethodName: name, Handler: func(_ any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
		in := new(wrapperspb.StringValue)
		if err := dec(in); err != nil {
			return nil, err
		}
		if ic == nil {
			return h(ctx, in)
		}
		return ic(ctx, in, &grpc.UnaryServerInfo{FullMethod: full}, func(ctx context.Context, req any) (any, error) {
			in, ok := req.(*wrapperspb.StringValue)
			if !ok {
				return nil, errors.New("unexpected request type")
			}
			return h(ctx, in)
		})
	}}
}

func registerTestService(s *grpc.Server, draining <-chan struct{}) {
	s.RegisterService(&grpc.ServiceDesc{
		ServiceName: testService,
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{
			unary("Echo", func(_ context.Context, in *wrapperspb.StringValue) (*wrapperspb.StringValue, error) { return in, nil }),
			unary("Panic", func(context.Context, *wrapperspb.StringValue) (*wrapperspb.StringValue, error) { panic(panicSecret) }),
			unary("Fail", func(context.Context, *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
				return nil, errors.New(failDetail)
			}),
			unary("RequestID", func(ctx context.Context, _ *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
				return wrapperspb.String(logging.RequestID(ctx)), nil
			}),
			unary("Invalid", func(context.Context, *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
				return nil, grpcerr.Invalid("value", "must not be empty")
			}),
			{MethodName: "CarriedID", Handler: func(_ any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
				in := new(inferencev1.ChatCompletionRequest)
				if err := dec(in); err != nil {
					return nil, err
				}
				h := func(ctx context.Context, _ any) (any, error) {
					return wrapperspb.String(logging.RequestID(ctx) + "|" + strings.Join(metadata.ValueFromIncomingContext(ctx, "x-request-id"), ",")), nil
				}
				if ic == nil {
					return h(ctx, in)
				}
				return ic(ctx, in, &grpc.UnaryServerInfo{FullMethod: carriedIDMethod}, h)
			}},
		},
		Streams: []grpc.StreamDesc{{StreamName: "CarriedWatch", ServerStreams: true, Handler: func(_ any, ss grpc.ServerStream) error {
			// A context derived before the message is received, as an
			// interceptor wrapping the stream (the principal's) derives
			// its own: it must see the id the message carries.
			ctx := context.WithValue(ss.Context(), derivedKey{}, true)
			in := new(inferencev1.StreamChatCompletionRequest)
			if err := ss.RecvMsg(in); err != nil {
				return err
			}
			return ss.SendMsg(wrapperspb.String(logging.RequestID(ctx) + "|" + strings.Join(metadata.ValueFromIncomingContext(ctx, "x-request-id"), ",")))
		}}, {StreamName: "Watch", ServerStreams: true, Handler: func(_ any, ss grpc.ServerStream) error {
			// A long-lived stream that ends when the server drains.
			if err := ss.SendMsg(wrapperspb.String("hello")); err != nil {
				return err
			}
			select {
			case <-draining:
				return nil
			case <-ss.Context().Done():
				return ss.Context().Err()
			}
		}}},
	}, struct{}{})
}
