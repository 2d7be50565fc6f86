package embed_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	"github.com/rampart-platform/rampart/services/ingestion/internal/embed"
)

// flakyInference fails EmbedForTenant with code for its first fail calls,
// then embeds every input as a one-element vector.
type flakyInference struct {
	inferencev1.InferenceServiceClient
	calls atomic.Int64
	fail  int64
	code  codes.Code
}

func (f *flakyInference) EmbedForTenant(_ context.Context, in *inferencev1.EmbedForTenantRequest, _ ...grpc.CallOption) (*inferencev1.EmbedForTenantResponse, error) {
	if f.calls.Add(1) <= f.fail {
		return nil, status.Error(f.code, "upstream says no to "+in.GetInputs()[0])
	}
	out := &inferencev1.EmbedForTenantResponse{}
	for range in.GetInputs() {
		out.Vectors = append(out.Vectors, &inferencev1.Vector{Values: []float32{1}})
	}
	return out, nil
}

// TestRemoteRetries: transient failures are retried Attempts times in all
// (1 ms, then 2 ms apart here); refusals and ResourceExhausted are not.
func TestRemoteRetries(t *testing.T) {
	tests := []struct {
		name      string
		fail      int64
		code      codes.Code
		wantCalls int64
		wantErr   error
	}{
		{"answers", 0, codes.OK, 1, nil},
		{"unavailable then answers", 2, codes.Unavailable, 3, nil},
		{"unavailable every time", 10, codes.Unavailable, 3, embed.ErrUnavailable},
		{"deadline every time", 10, codes.DeadlineExceeded, 3, embed.ErrUnavailable},
		{"over the tenant's rate is not retried", 10, codes.ResourceExhausted, 1, embed.ErrUnavailable},
		{"refused is not retried", 10, codes.InvalidArgument, 1, embed.ErrRejected},
		{"unknown model is not retried", 10, codes.NotFound, 1, embed.ErrRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inf := &flakyInference{fail: tt.fail, code: tt.code}
			r := &embed.Remote{Client: inf, Backoff: time.Millisecond}
			vecs, err := r.EmbedForTenant(t.Context(), "t1", "", "m", embed.Limits{}, []string{"a", "b"})
			require.Equal(t, tt.wantCalls, inf.calls.Load())
			if tt.wantErr == nil {
				require.NoError(t, err)
				require.Len(t, vecs, 2)
				return
			}
			require.ErrorIs(t, err, tt.wantErr)
			require.Equal(t, fmt.Sprintf("%v: `m` (%s)", tt.wantErr, tt.code), err.Error(),
				"the model and the code, never inference's message (it may quote the input)")
		})
	}
}

// TestRemoteRetryWaitEndsWithContext: a job cancelled during a backoff
// stops at once with the context's error.
func TestRemoteRetryWaitEndsWithContext(t *testing.T) {
	inf := &flakyInference{fail: 10, code: codes.Unavailable}
	r := &embed.Remote{Client: inf, Backoff: time.Hour}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := r.EmbedForTenant(ctx, "t1", "", "m", embed.Limits{}, []string{"a"})
	require.True(t, errors.Is(err, context.DeadlineExceeded), "%v", err)
	require.Less(t, time.Since(start), 10*time.Second)
	require.EqualValues(t, 1, inf.calls.Load())
}
