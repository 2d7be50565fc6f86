package collectioncheck

import (
	"context"
	"fmt"
	"slices"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rampart-platform/rampart/pkg/grpcerr"
)

// Lister returns the names of the caller's tenant's collections (ingestion's
// ListCollections on the caller's principal); its error keeps the gRPC code.
type Lister func(ctx context.Context) ([]string, error)

// Check reports whether every one of names is among list's collections. A
// missing one is a *grpcerr.InvalidError naming it by params[i] (default
// "collections[i]"); list failing (other than by cancellation) is
// grpcerr.ErrUnavailable, since unchecked names must not be stored.
func Check(ctx context.Context, names, params []string, list Lister) error {
	if len(names) == 0 {
		return nil
	}
	have, err := list(ctx)
	if err != nil {
		if status.Code(err) == codes.Canceled {
			return err
		}
		return fmt.Errorf("could not check the collections with document search (%s), try again: %w", status.Code(err), grpcerr.ErrUnavailable)
	}
	for i, n := range names {
		if slices.Contains(have, n) {
			continue
		}
		param := fmt.Sprintf("collections[%d]", i)
		if i < len(params) {
			param = params[i]
		}
		return grpcerr.Invalidf(param, "collection %q not found (create it first: POST /v1/collections)", n)
	}
	return nil
}
