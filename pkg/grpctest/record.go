package grpctest

import (
	"context"
	"slices"
	"sync"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/principal"
)

// Call is what a recording double keeps of every call: the method, who
// made it and the request. A double's own Call embeds it (or is it) and
// adds what it decodes from the request.
type Call struct {
	// Method is the RPC's short name ("ChatCompletion", "Search", ...).
	Method string
	// Caller is the mTLS peer's SPIFFE id ("" without one).
	Caller string
	// Principal is a copy of the verified principal (nil without one, as
	// on the methods that need no assertion).
	Principal *authv1.Principal
	// RequestID is the call's request id, as pkg/serve takes it: the request
	// message's call_request_id (serve.RequestIDCarrier) when set, else the
	// x-request-id metadata, if any.
	RequestID string
	// Request is a copy of the request message as received.
	Request proto.Message
}

// CallOf returns the Call of method (its short name) serving req on ctx (a
// server handler's).
func CallOf(ctx context.Context, method string, req proto.Message) Call {
	c := Call{Method: method}
	if req != nil {
		c.Request = proto.Clone(req)
	}
	if id, err := mtls.PeerID(ctx); err == nil {
		c.Caller = id.String()
	}
	if p, ok := principal.FromContext(ctx); ok {
		c.Principal = proto.CloneOf(p)
	}
	if m, ok := req.(interface{ GetCallRequestId() string }); ok && m.GetCallRequestId() != "" {
		c.RequestID = m.GetCallRequestId()
	} else if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get("x-request-id"); len(v) > 0 {
			c.RequestID = v[0]
		}
	}
	return c
}

// Log is a double's record of the calls it served, safe for concurrent
// use; the zero Log is empty.
type Log[C any] struct {
	mu    sync.Mutex
	calls []C
}

// Add records c.
func (l *Log[C]) Add(c C) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, c)
}

// All returns the calls recorded so far, oldest first.
func (l *Log[C]) All() []C {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.calls)
}

// Last returns the newest call for which match is true, and false if there
// is none.
func (l *Log[C]) Last(match func(C) bool) (C, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.calls) - 1; i >= 0; i-- {
		if match(l.calls[i]) {
			return l.calls[i], true
		}
	}
	var zero C
	return zero, false
}
