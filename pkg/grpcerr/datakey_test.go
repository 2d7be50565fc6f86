package grpcerr_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rampart-platform/rampart/pkg/grpcerr"
)

func TestDataKeySaysNothingInternal(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want codes.Code
	}{
		{"keyvault down", status.Error(codes.Unavailable, "dial tcp 10.0.0.7:7002: connection refused"), codes.Unavailable},
		{"deadline", status.Error(codes.DeadlineExceeded, "10.0.0.7 slow"), codes.Unavailable},
		{"shredded", status.Error(codes.FailedPrecondition, "key kms_10.0.0.7 pending deletion"), codes.FailedPrecondition},
		{"no such key", status.Error(codes.NotFound, "key kms_10.0.0.7"), codes.FailedPrecondition},
		{"no principal", status.Error(codes.Unauthenticated, "10.0.0.7"), codes.Unauthenticated},
		{"refused: ours to fix", status.Error(codes.PermissionDenied, "10.0.0.7"), codes.Internal},
		{"keyvault bug", status.Error(codes.Internal, "10.0.0.7"), codes.Internal},
		{"not a status", errors.New("10.0.0.7 reset"), codes.Internal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := grpcerr.DataKey("unwrap", tc.err)
			require.Equal(t, tc.want, grpcerr.Code(err))
			if tc.want != codes.Internal { // Internal is logged, never sent
				require.NotContains(t, err.Error(), "10.0.0.7")
			}
		})
	}
}
