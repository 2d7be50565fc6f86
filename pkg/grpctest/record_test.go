package grpctest_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/grpctest"
)

func TestLog(t *testing.T) {
	var l grpctest.Log[string]
	_, ok := l.Last(func(string) bool { return true })
	require.False(t, ok, "empty")
	for _, c := range []string{"a1", "b1", "a2"} {
		l.Add(c)
	}
	got, ok := l.Last(func(c string) bool { return c[0] == 'a' })
	require.True(t, ok)
	require.Equal(t, "a2", got, "the newest match")
	all := l.All()
	require.Equal(t, []string{"a1", "b1", "a2"}, all)
	all[0] = "changed"
	require.Equal(t, "a1", l.All()[0], "All returns a copy")
}

// TestCallOfBareContext: without a peer or a principal only the method,
// the request id and a copy of the request are known (the doubles' tests
// check a real mTLS call's caller and principal).
func TestCallOfBareContext(t *testing.T) {
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("x-request-id", "r1"))
	req := &authv1.GetKeyRequest{KeyId: "k1"}
	c := grpctest.CallOf(ctx, "GetKey", req)
	require.Equal(t, grpctest.Call{Method: "GetKey", RequestID: "r1", Request: c.Request}, c)
	require.True(t, proto.Equal(req, c.Request))
	require.NotSame(t, req, c.Request, "a copy: the handler may change its request")
}
