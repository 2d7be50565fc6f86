package serve

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/rampart-platform/rampart/pkg/logging"
	"github.com/rampart-platform/rampart/pkg/telemetry"
)

// RequestIDHeader is the metadata key carrying the request id.
const RequestIDHeader = "x-request-id"

// RequestIDCarrier is a request message that carries its call's request id
// in a field (`string call_request_id`), so the caller need not send it as
// x-request-id metadata: grpc-go indexes every header, and a per-call id
// was a new HPACK literal to encode on the caller and to Huffman-decode,
// check byte by byte and put into the metadata map here on every call
// (issue 15, ADR 0108). A valid id in the message wins over the metadata;
// an empty or invalid one falls back to it, so callers that still send the
// metadata keep working.
type RequestIDCarrier interface {
	GetCallRequestId() string
}

// messageRequestID returns msg's carried request id when it is well formed.
func messageRequestID(msg any) (string, bool) {
	if c, ok := msg.(RequestIDCarrier); ok {
		if id := c.GetCallRequestId(); logging.ValidRequestID(id) {
			return id, true
		}
	}
	return "", false
}

// withRequestID returns ctx with the call's request id (requestID), and
// sets the response header when the server chose the id.
//
// The id is echoed in the response header only when this server chose it
// (the caller sent none, or one that was not well formed): a caller that
// sent a valid id already knows it. Internal callers always send one (the
// edge mints it, pkg/backend's dialer forwards it), and the echo was a
// never-indexed HPACK header the caller's grpc-go reader decoded on every
// call for nothing (issue 15, ADR 0054).
func withRequestID(ctx context.Context, req any) context.Context {
	if id, ok := messageRequestID(req); ok {
		return logging.WithRequestID(ctx, id)
	}
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
	if id, ok := incomingRequestID(ctx); ok {
		return logging.WithRequestID(ctx, id), id, false
	}
	id = NewRequestID()
	return logging.WithRequestID(ctx, id), id, true
}

// incomingRequestID returns the x-request-id metadata when it is well formed.
func incomingRequestID(ctx context.Context) (string, bool) {
	// ValueFromIncomingContext copies only this key's values, not the whole
	// metadata map as FromIncomingContext does (issue 15: per-call cost).
	if v := metadata.ValueFromIncomingContext(ctx, RequestIDHeader); len(v) == 1 && logging.ValidRequestID(v[0]) {
		return v[0], true
	}
	return "", false
}

// serverStream is the stream the handler sees: the metrics' counting
// wrapper, whose context's request id is settled at the first message
// received (a RequestIDCarrier's valid id wins over the metadata's, as for
// unary calls), or before anything is sent or logged if that comes first.
// A streaming call's message arrives after the interceptors ran and
// wrapped the context (the principal's), so the id is set in the field the
// context already holds (logging.WithRequestIDField), which every context
// derived from it reads. The metadata is looked at only when the message
// has no id: grpc-go's look-up of an absent key walks every key with
// strings.EqualFold (ADR 0108).
type serverStream struct {
	telemetry.ServerStream
	id      *string // the request id in Ctx
	pending bool    // not settled yet
}

// RecvMsg implements grpc.ServerStream.
func (s *serverStream) RecvMsg(m any) error {
	err := s.ServerStream.RecvMsg(m)
	if s.pending {
		if id, ok := messageRequestID(m); ok && err == nil {
			*s.id, s.pending = id, false
		} else {
			s.settle()
		}
	}
	return err
}

// SendMsg implements grpc.ServerStream.
func (s *serverStream) SendMsg(m any) error {
	if s.pending {
		s.settle()
	}
	return s.ServerStream.SendMsg(m)
}

// SendHeader implements grpc.ServerStream.
func (s *serverStream) SendHeader(md metadata.MD) error {
	if s.pending {
		s.settle()
	}
	return s.ServerStream.SendHeader(md)
}

// settle takes the metadata's request id, or chooses one and echoes it.
func (s *serverStream) settle() {
	s.pending = false
	if id, ok := incomingRequestID(s.ServerStream.ServerStream.Context()); ok {
		*s.id = id
		return
	}
	*s.id = NewRequestID()
	_ = s.SetHeader(metadata.Pairs(RequestIDHeader, *s.id)) // fails only if headers were sent: nothing was
}

// context returns the stream's context, its request id settled (its log
// line and a recovered panic carry one).
func (s *serverStream) context() context.Context {
	if s.pending {
		s.settle()
	}
	return s.Ctx
}

// NewRequestID returns a random 128-bit request id in hex.
func NewRequestID() string { return logging.NewRequestID() }

// RequestIDDialOptions returns dial options that forward the request id of
// the current call (logging.RequestID) to the services it calls, as
// x-request-id metadata unless the call carries it in its request message
// (a unary call's RequestIDCarrier with a valid id; a stream opened with
// the RequestIDInMessage call option, whose message is sent after the
// headers are).
func RequestIDDialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			if _, ok := messageRequestID(req); ok {
				return invoker(ctx, method, req, reply, cc, opts...)
			}
			return invoker(outgoingRequestID(ctx), method, req, reply, cc, opts...)
		}),
		grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			for _, o := range opts {
				if _, ok := o.(idInMessage); ok {
					return streamer(ctx, desc, cc, method, opts...)
				}
			}
			return streamer(outgoingRequestID(ctx), desc, cc, method, opts...)
		}),
	}
}

// RequestIDInMessage is the call option of a stream whose request message
// carries the request id (RequestIDCarrier): RequestIDDialOptions then
// sends no x-request-id metadata for it (ADR 0108). The caller must set
// the message's id; a server that finds none there chooses its own.
var RequestIDInMessage grpc.CallOption = idInMessage{}

type idInMessage struct{ grpc.EmptyCallOption }

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
