package grpcerr

import (
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// DataKey turns keyvault's failure of a tenant data-key call (GenerateDataKey,
// Decrypt, WrapForTenant) into a domain error whose message says what the
// caller can act on and nothing about the deployment (addresses, keyvault's
// own messages). op names the call for the internal-error log ("unwrap",
// "generate"). Ingestion and inference both hold tenant data keys; a
// crypto-shredded tenant must read the same in both (ADR 0084).
func DataKey(op string, err error) error {
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded:
		return fmt.Errorf("%w: keyvault is unavailable; try again", ErrUnavailable)
	case codes.FailedPrecondition, codes.NotFound:
		return fmt.Errorf("%w: the tenant's data key cannot be used (it may have been destroyed)", ErrFailedPrecondition)
	case codes.Unauthenticated:
		return fmt.Errorf("%w: no principal to unlock the tenant's data key", ErrUnauthenticated)
	}
	if _, isStatus := status.FromError(err); isStatus {
		// any other gRPC code is ours to fix: flatten it so it maps to
		// Internal (logged, never returned) instead of passing through
		return fmt.Errorf("%s tenant data key: %v", op, err) //nolint:errorlint // deliberately not wrapped
	}
	return fmt.Errorf("%s tenant data key: %w", op, err)
}
