package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
)

// TestWatchStreamsEndOnDrain: the revocation and tenant-event streams
// never end on their own, and GracefulStop waits for every open stream. At
// SIGTERM they end with Unavailable as soon as the server drains, so their
// clients (every edge, keyvault, ingestion, slackadapter) reconnect to
// another replica at once and the replica stops without waiting for its
// shutdown deadline (10 s) and then cutting them off (ADR 0072).
func TestWatchStreamsEndOnDrain(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	rev := e.watchRevocations(ctx, t, 0)
	ten := e.watchTenantEvents(ctx, t)

	start := time.Now()
	e.shutdown()
	_, err := rev.Recv()
	require.Equal(t, codes.Unavailable, code(err), "%v", err)
	_, err = ten.Recv()
	require.Equal(t, codes.Unavailable, code(err), "%v", err)
	select {
	case <-e.stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("auth still stopping 5 s after SIGTERM: GracefulStop is waiting for the watch streams")
	}
	require.Less(t, time.Since(start), 5*time.Second)
}
