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

// Origin is who made a call, as a double records it.
type Origin struct {
	// Caller is the mTLS peer's SPIFFE id ("" without one).
	Caller string
	// Principal is a copy of the verified principal (nil without one).
	Principal *authv1.Principal
	// RequestID is the x-request-id metadata, if any.
	RequestID string
}

// OriginOf returns the origin of the call of ctx (a server handler's).
func OriginOf(ctx context.Context) Origin {
	var o Origin
	if id, err := mtls.PeerID(ctx); err == nil {
		o.Caller = id.String()
	}
	if p, ok := principal.FromContext(ctx); ok {
		o.Principal = proto.CloneOf(p)
	}
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get("x-request-id"); len(v) > 0 {
			o.RequestID = v[0]
		}
	}
	return o
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
