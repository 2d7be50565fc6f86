package grpctest_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/metadata"

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

// TestOriginOfBareContext: without a peer or a principal only the request
// id is known (the doubles' tests check a real mTLS call's origin).
func TestOriginOfBareContext(t *testing.T) {
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("x-request-id", "r1"))
	require.Equal(t, grpctest.Origin{RequestID: "r1"}, grpctest.OriginOf(ctx))
}
