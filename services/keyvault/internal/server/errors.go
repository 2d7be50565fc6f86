package server

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/pkg/logging"
	pstore "github.com/rampart-platform/rampart/pkg/store"
	"github.com/rampart-platform/rampart/services/keyvault/internal/vault"
)

// toStatus maps an error to a gRPC status through pkg/grpcerr: every
// vault.Error kind but internal matches a grpcerr sentinel (an invalid
// field becomes a BadRequest field violation). Stricter than grpcerr for
// the rest: an internal or foreign error (a status from a downstream call
// included) is logged with the request id and becomes Internal, except a
// database that is unreachable, which is worth a retry.
func toStatus(ctx context.Context, log *slog.Logger, err error) error {
	if err == nil {
		return nil
	}
	var e *vault.Error
	switch {
	case errors.As(err, &e) && e.Kind != vault.KindInternal:
		return grpcerr.ToStatus(ctx, log, e)
	case e == nil && pstore.IsUnavailable(err):
		log.WarnContext(ctx, "database unavailable", "err", err, "request_id", logging.RequestID(ctx))
		return status.Error(codes.Unavailable, "database unavailable; retry")
	case e != nil:
		err = e.Err
	}
	log.ErrorContext(ctx, "internal error", "err", err, "request_id", logging.RequestID(ctx))
	return status.Error(codes.Internal, grpcerr.InternalMessage)
}
