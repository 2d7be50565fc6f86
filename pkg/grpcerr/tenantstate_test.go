package grpcerr_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rampart-platform/rampart/pkg/grpcerr"
)

func TestTenantNotActive(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	for _, reason := range []string{grpcerr.ReasonTenantSuspended, grpcerr.ReasonTenantDeleted} {
		err := fmt.Errorf("get limits: %w", &grpcerr.TenantNotActiveError{Reason: reason})
		require.ErrorIs(t, err, grpcerr.ErrFailedPrecondition)
		require.Equal(t, reason, grpcerr.TenantNotActive(err), "in the chain")
		st := grpcerr.ToStatus(context.Background(), log, err)
		require.Equal(t, codes.FailedPrecondition, status.Code(st))
		require.Equal(t, reason, grpcerr.TenantNotActive(st), "on the wire")
		require.Equal(t, reason, grpcerr.TenantNotActive(fmt.Errorf("auth: %w", st)), "wrapped status")
		// auth's VerifyKey of a right key of such a tenant (ADR 0123 §2)
		unauth, err := status.New(codes.Unauthenticated, "invalid api key").WithDetails(grpcerr.TenantNotActiveDetails(reason)...)
		require.NoError(t, err)
		require.Equal(t, reason, grpcerr.TenantNotActive(unauth.Err()), "an invalid key's detail")
	}
	for name, err := range map[string]error{
		"nil":                nil,
		"plain precondition": status.Error(codes.FailedPrecondition, "the tenant is suspended"),
		"plain invalid key":  status.Error(codes.Unauthenticated, "invalid api key"),
		"another code":       status.Error(codes.Unavailable, "down"),
		"a sentinel":         grpcerr.ErrFailedPrecondition,
		"another error":      errors.New("x"),
	} {
		require.Empty(t, grpcerr.TenantNotActive(err), name)
	}
}
