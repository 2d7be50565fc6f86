package server

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rampart-platform/rampart/pkg/logging"
	pstore "github.com/rampart-platform/rampart/pkg/store"
	"github.com/rampart-platform/rampart/services/keyvault/internal/vault"
)

// toStatus maps a domain error to a gRPC status. Internal causes are logged
// with the request id and never returned.
func toStatus(ctx context.Context, log *slog.Logger, err error) error {
	if err == nil {
		return nil
	}
	var e *vault.Error
	if !errors.As(err, &e) && pstore.IsUnavailable(err) {
		log.WarnContext(ctx, "database unavailable", "err", err, "request_id", logging.RequestID(ctx))
		return status.Error(codes.Unavailable, "database unavailable; retry")
	}
	if e == nil {
		log.ErrorContext(ctx, "internal error", "err", err, "request_id", logging.RequestID(ctx))
		return status.Error(codes.Internal, "internal error")
	}
	switch e.Kind {
	case vault.KindInvalid:
		return status.Error(codes.InvalidArgument, e.Error())
	case vault.KindNotFound:
		return status.Error(codes.NotFound, e.Error())
	case vault.KindAlreadyExists:
		return status.Error(codes.AlreadyExists, e.Error())
	case vault.KindFailedPrecondition:
		return status.Error(codes.FailedPrecondition, e.Error())
	case vault.KindPermissionDenied:
		return status.Error(codes.PermissionDenied, e.Error())
	case vault.KindUnimplemented:
		return status.Error(codes.Unimplemented, e.Error())
	case vault.KindUnavailable:
		return status.Error(codes.Unavailable, e.Error())
	default:
		log.ErrorContext(ctx, "internal error", "err", e.Err, "request_id", logging.RequestID(ctx))
		return status.Error(codes.Internal, "internal error")
	}
}
