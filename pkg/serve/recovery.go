package serve

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rampart-platform/rampart/pkg/grpcerr"
)

// panicked turns a handler panic into codes.Internal (the chain's recovery
// step, see unary): one bad request must not take the process (and every
// other tenant's calls) down.
func panicked(ctx context.Context, log *slog.Logger, method string, r any) error {
	log.ErrorContext(ctx, "panic in handler", "method", method,
		"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
	return status.Error(codes.Internal, grpcerr.InternalMessage)
}
