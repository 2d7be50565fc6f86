package logging_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/logging"
)

type otherKey struct{}

// TestIDContextsAnswerAsWithValue: WithRequestID and WithTenantID (one
// context node each, ADR 0061) answer as context.WithValue nodes did: the
// nearest setting of each id wins, an empty id hides the parent's, other
// keys and cancellation pass through to the parent.
func TestIDContextsAnswerAsWithValue(t *testing.T) {
	base := context.WithValue(context.Background(), otherKey{}, "other")
	tests := []struct {
		name             string
		ctx              context.Context
		wantReq, wantTen string
	}{
		{"none", base, "", ""},
		{"request id", logging.WithRequestID(base, "req-1"), "req-1", ""},
		{"tenant", logging.WithTenantID(base, "t_1"), "", "t_1"},
		{"both", logging.WithTenantID(logging.WithRequestID(base, "req-1"), "t_1"), "req-1", "t_1"},
		{"both, other order", logging.WithRequestID(logging.WithTenantID(base, "t_1"), "req-1"), "req-1", "t_1"},
		{"inner wins", logging.WithRequestID(logging.WithRequestID(base, "outer"), "inner"), "inner", ""},
		{"empty hides the parent's", logging.WithTenantID(logging.WithTenantID(base, "t_1"), ""), "", ""},
		{"empty request id hides too", logging.WithRequestID(logging.WithRequestID(base, "req-1"), ""), "", ""},
		{"under a context.WithValue", context.WithValue(logging.WithRequestID(base, "req-1"), otherKey{}, "x"), "req-1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.wantReq, logging.RequestID(tt.ctx))
			require.Equal(t, tt.wantTen, logging.TenantID(tt.ctx))
			require.NotNil(t, tt.ctx.Value(otherKey{}))
		})
	}

	parent, cancel := context.WithCancelCause(context.Background())
	ctx := logging.WithTenantID(logging.WithRequestID(parent, "req-1"), "t_1")
	child, stop := context.WithTimeout(ctx, time.Minute)
	defer stop()
	cancel(context.DeadlineExceeded)
	<-child.Done()
	require.ErrorIs(t, context.Cause(child), context.DeadlineExceeded)
	require.Equal(t, "req-1", logging.RequestID(child))
}
