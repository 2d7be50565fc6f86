package serve

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/rampart-platform/rampart/pkg/logging"
)

// RequestIDHeader is the metadata key carrying the request id.
const RequestIDHeader = "x-request-id"

// withRequestID returns ctx with the call's request id (requestID), and
// sets the response header when the server chose the id.
//
// The id is echoed in the response header only when this server chose it
// (the caller sent none, or one that was not well formed): a caller that
// sent a valid id already knows it. Internal callers always send one (the
// edge mints it, pkg/backend's dialer forwards it), and the echo was a
// never-indexed HPACK header the caller's grpc-go reader decoded on every
// call for nothing (issue 15, ADR 0054).
func withRequestID(ctx context.Context) context.Context {
	ctx, id, chosen := requestID(ctx)
	if chosen {
		_ = grpc.SetHeader(ctx, metadata.Pairs(RequestIDHeader, id)) // fails only if headers were sent: impossible here
	}
	return ctx
}

// requestID returns ctx carrying the call's request id for every log line:
// the caller's if it is well formed, else a new one (chosen: true). Ids end
// up in every log line, so they must not be able to forge lines.
func requestID(ctx context.Context) (_ context.Context, id string, chosen bool) {
	// ValueFromIncomingContext copies only this key's values, not the whole
	// metadata map as FromIncomingContext does (issue 15: per-call cost).
	if v := metadata.ValueFromIncomingContext(ctx, RequestIDHeader); len(v) == 1 && logging.ValidRequestID(v[0]) {
		id = v[0]
	} else {
		id, chosen = NewRequestID(), true
	}
	return logging.WithRequestID(ctx, id), id, chosen
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
