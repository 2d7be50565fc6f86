package gateway

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// unavailableConn stands in for a backend the edge is configured without:
// every call fails with Unavailable, which the edge answers with 503.
type unavailableConn struct{ name string }

// OrUnavailable returns c, or for a nil c a connection whose every call
// fails with Unavailable (the edge answers 503).
func OrUnavailable(c grpc.ClientConnInterface, name string) grpc.ClientConnInterface {
	if c == nil {
		return unavailableConn{name: name}
	}
	return c
}

func (u unavailableConn) Invoke(context.Context, string, any, any, ...grpc.CallOption) error {
	return status.Errorf(codes.Unavailable, "%s is not configured at this edge", u.name)
}

func (u unavailableConn) NewStream(context.Context, *grpc.StreamDesc, string, ...grpc.CallOption) (grpc.ClientStream, error) {
	return nil, status.Errorf(codes.Unavailable, "%s is not configured at this edge", u.name)
}
