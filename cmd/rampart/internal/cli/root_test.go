package cli

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestPlainStatus(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"grpcerr message keeps its own words", status.Error(codes.AlreadyExists, "already exists: already bootstrapped"),
			"already exists: already bootstrapped"},
		{"other message gets the code", status.Error(codes.Unavailable, "connection refused"),
			"Unavailable: connection refused"},
		{"wrapped", fmt.Errorf("bootstrap: %w", status.Error(codes.PermissionDenied, "permission denied: not the CLI")),
			"bootstrap: permission denied: not the CLI"},
		{"not a status", errors.New("no Rampart URL"), "no Rampart URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := plainStatus(tt.err)
			require.EqualError(t, got, tt.want)
			require.NotContains(t, got.Error(), "rpc error")
		})
	}
	require.NoError(t, plainStatus(nil))
	require.Equal(t, "failed precondition", codeText(codes.FailedPrecondition))
}
