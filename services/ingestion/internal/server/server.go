// Package server wires the ingestion service. Until the ingestion issue
// lands, IngestionService answers every RPC with codes.Unimplemented (the
// generated default), while health, metrics, mTLS and authz are real.
package server

import (
	"context"
	_ "embed"

	ingestionv1 "github.com/rampart-platform/rampart/gen/go/rampart/ingestion/v1"
	"github.com/rampart-platform/rampart/pkg/backend"
	"github.com/rampart-platform/rampart/services/ingestion/internal/config"
)

//go:embed policy.json
var defaultPolicy []byte

// Run starts the service and blocks until ctx ends.
func Run(ctx context.Context, args []string) error {
	spec := backend.Spec{Name: "ingestion", DefaultPolicy: defaultPolicy}
	return backend.Run(ctx, spec, config.Default(), args, func(_ context.Context, env *backend.Env) error {
		ingestionv1.RegisterIngestionServiceServer(env.Server.GRPC(), &ingestionv1.UnimplementedIngestionServiceServer{})
		return nil
	})
}
