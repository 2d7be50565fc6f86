package rag

import (
	"cmp"
	"context"
	"fmt"

	ingestionv1 "github.com/rampart-platform/rampart/gen/go/rampart/ingestion/v1"
	"github.com/rampart-platform/rampart/pkg/collectioncheck"
	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/pkg/principal"
)

// CheckCollections reports whether every one of names is a collection of
// the caller's tenant, asking ingestion (ListCollections) with the caller's
// forwarded principal, so the tenant is the verified one's and another
// tenant's collection is as missing as one that does not exist. A missing
// collection is an *grpcerr.InvalidError naming it by params[i] (e.g.
// "assistant.collections[1]"); ingestion being unreachable or unconfigured
// is grpcerr.ErrUnavailable (the names cannot be checked, so nothing that
// names them is stored). It is for definitions that name collections (an
// assistant); a chat still meets a collection deleted since as Retrieve's
// 404.
func (r *Retriever) CheckCollections(ctx context.Context, names, params []string) error {
	if len(names) == 0 {
		return nil
	}
	if r == nil || r.Client == nil {
		return fmt.Errorf("document search is not configured, so collections cannot be named: %w", grpcerr.ErrUnavailable)
	}
	ctx, cancel := context.WithTimeout(principal.ForwardTo(ctx, "ingestion"), cmp.Or(r.Timeout, DefaultTimeout))
	defer cancel()
	return collectioncheck.Check(ctx, names, params, func(ctx context.Context) ([]string, error) {
		res, err := r.Client.ListCollections(ctx, &ingestionv1.ListCollectionsRequest{})
		if err != nil {
			return nil, err
		}
		have := make([]string, 0, len(res.GetCollections()))
		for _, c := range res.GetCollections() {
			have = append(have, c.GetName())
		}
		return have, nil
	})
}
