package backend

import (
	"context"
	"crypto/ed25519"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/principal"
)

// keysAfter answers GetSigningKeys with Unavailable for its first fail
// calls, then with one key.
type keysAfter struct {
	calls atomic.Int64
	fail  int64
}

func (k *keysAfter) GetSigningKeys(context.Context, *authv1.GetSigningKeysRequest, ...grpc.CallOption) (*authv1.GetSigningKeysResponse, error) {
	if k.calls.Add(1) <= k.fail {
		return nil, status.Error(codes.Unavailable, "auth is not up yet")
	}
	return &authv1.GetSigningKeysResponse{Keys: []*authv1.SigningKey{{Kid: "k1", PublicKey: make([]byte, ed25519.PublicKeySize)}}}, nil
}

// TestWaitForAuthKeys: the first fetch is retried until auth answers
// (200 ms, then 400 ms, ... between tries) or the service stops.
func TestWaitForAuthKeys(t *testing.T) {
	tests := []struct {
		name      string
		fail      int64
		deadline  time.Duration
		want      bool
		wantCalls int64
		minWait   time.Duration
	}{
		{"auth up", 0, 5 * time.Second, true, 1, 0},
		{"auth up after two tries", 2, 5 * time.Second, true, 3, 600 * time.Millisecond},
		{"service stops while auth is down", 1000, 500 * time.Millisecond, false, 2, 200 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), tt.deadline)
			defer cancel()
			client := &keysAfter{fail: tt.fail}
			remote := principal.NewRemoteKeys(client, slog.New(slog.DiscardHandler))
			start := time.Now()
			got := waitForAuthKeys(ctx, remote, slog.New(slog.DiscardHandler))
			require.Equal(t, tt.want, got)
			require.Equal(t, tt.want, remote.Loaded())
			require.GreaterOrEqual(t, time.Since(start), tt.minWait, "the tries are spaced by the backoff")
			// Failing the last case: 200 ms + 400 ms of backoff do not fit
			// in 500 ms, so two tries, then the wait is cut short.
			require.Equal(t, tt.wantCalls, client.calls.Load())
			if !tt.want {
				require.ErrorIs(t, ctx.Err(), context.DeadlineExceeded)
			}
		})
	}
}
