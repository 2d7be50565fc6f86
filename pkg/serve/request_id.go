package serve

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/rampart-platform/rampart/pkg/logging"
)

// RequestIDHeader is the metadata key carrying the request id.
const RequestIDHeader = "x-request-id"

// The id is echoed in the response header only when this server chose it
// (the caller sent none, or one that was not well formed): a caller that
// sent a valid id already knows it. Internal callers always send one (the
// edge mints it, pkg/backend's dialer forwards it), and the echo was a
// never-indexed HPACK header the caller's grpc-go reader decoded on every
// call for nothing (issue 15, ADR 0054).
func requestIDUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	id, chosen := incomingRequestID(ctx)
	if chosen {
		_ = grpc.SetHeader(ctx, metadata.Pairs(RequestIDHeader, id)) // fails only if headers were sent: impossible here
	}
	return handler(logging.WithRequestID(ctx, id), req)
}

func requestIDStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	id, chosen := incomingRequestID(ss.Context())
	if chosen {
		_ = ss.SetHeader(metadata.Pairs(RequestIDHeader, id))
	}
	return handler(srv, &ctxStream{ServerStream: ss, ctx: logging.WithRequestID(ss.Context(), id)})
}

// incomingRequestID returns the caller's id if it is well formed, else a new
// one (chosen: true): ids end up in every log line, so they must not be able
// to forge lines.
func incomingRequestID(ctx context.Context) (id string, chosen bool) {
	// ValueFromIncomingContext copies only this key's values, not the whole
	// metadata map as FromIncomingContext does (issue 15: per-call cost).
	if v := metadata.ValueFromIncomingContext(ctx, RequestIDHeader); len(v) == 1 && logging.ValidRequestID(v[0]) {
		return v[0], false
	}
	return NewRequestID(), true
}

// NewRequestID returns a random 128-bit request id in hex.
func NewRequestID() string { return logging.NewRequestID() }

// RequestIDDialOptions returns dial options that forward the request id of
// the current call (logging.RequestID) to the services it calls.
func RequestIDDialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			return invoker(outgoingRequestID(ctx), method, req, reply, cc, opts...)
		}),
		grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			return streamer(outgoingRequestID(ctx), desc, cc, method, opts...)
		}),
	}
}

func outgoingRequestID(ctx context.Context) context.Context {
	id := logging.RequestID(ctx)
	if id == "" {
		return ctx
	}
	// ValueFromOutgoingContext looks at this key only; FromOutgoingContext
	// copied the whole outgoing metadata on every call (issue 15).
	if len(metadata.ValueFromOutgoingContext(ctx, RequestIDHeader)) > 0 {
		return ctx // set explicitly by the caller
	}
	return metadata.AppendToOutgoingContext(ctx, RequestIDHeader, id)
}

// ctxStream overrides the context of a server stream.
type ctxStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *ctxStream) Context() context.Context { return s.ctx }
