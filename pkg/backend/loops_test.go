package backend_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/backend"
)

func TestLoops(t *testing.T) {
	tests := []struct {
		name    string
		linger  time.Duration // how long a loop runs on after its context ends
		wait    time.Duration // the shutdown deadline
		wantErr error
	}{
		{"loops that end are awaited", 20 * time.Millisecond, 5 * time.Second, nil},
		{"a loop past the deadline is given up on", time.Hour, 30 * time.Millisecond, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent, cancelParent := context.WithCancel(context.Background())
			l := backend.NewLoops(parent)
			cancelParent() // only Stop ends the loops
			var ended atomic.Int32
			release := make(chan struct{})
			t.Cleanup(func() { close(release) })
			started := make(chan error, 2)
			for range 2 {
				l.Go(func(ctx context.Context) {
					started <- ctx.Err() // the parent is cancelled already
					<-ctx.Done()
					select {
					case <-time.After(tt.linger):
						ended.Add(1)
					case <-release:
					}
				})
			}
			for range 2 {
				require.NoError(t, <-started, "only Stop ends the loops, not the parent's cancel")
			}
			ctx, cancel := context.WithTimeout(context.Background(), tt.wait)
			defer cancel()
			err := l.Stop(ctx)
			require.ErrorIs(t, err, tt.wantErr)
			if tt.wantErr == nil {
				require.EqualValues(t, 2, ended.Load(), "Stop returned before every loop ended")
			}
		})
	}
}
