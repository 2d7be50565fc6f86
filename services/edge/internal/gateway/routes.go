package gateway

import (
	"context"
	"fmt"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	ingestionv1 "github.com/rampart-platform/rampart/gen/go/rampart/ingestion/v1"
	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	slackadapterv1 "github.com/rampart-platform/rampart/gen/go/rampart/slackadapter/v1"
)

// Conns are the client connections to the backends. A nil connection makes
// that backend's routes answer 503.
type Conns struct {
	Auth         grpc.ClientConnInterface
	Keyvault     grpc.ClientConnInterface
	Inference    grpc.ClientConnInterface
	Ingestion    grpc.ClientConnInterface
	SlackAdapter grpc.ClientConnInterface
}

// Register adds every backend REST API generated in gen/go (the
// Register*HandlerClient functions) to mux. Adding a service is one line
// (the order matters only for speed: see keyvault.SecretsService).
func Register(ctx context.Context, mux *runtime.ServeMux, c Conns) error {
	auth := OrUnavailable(c.Auth, "auth")
	keyvault := OrUnavailable(c.Keyvault, "keyvault")
	inference := OrUnavailable(c.Inference, "inference")
	ingestion := OrUnavailable(c.Ingestion, "ingestion")
	regs := []struct {
		name string
		err  error
	}{
		{"auth.AuthService", authv1.RegisterAuthServiceHandlerClient(ctx, mux, authv1.NewAuthServiceClient(auth))},
		{"auth.TenantService", authv1.RegisterTenantServiceHandlerClient(ctx, mux, authv1.NewTenantServiceClient(auth))},
		{"auth.KeyService", authv1.RegisterKeyServiceHandlerClient(ctx, mux, authv1.NewKeyServiceClient(auth))},
		{"auth.MemberService", authv1.RegisterMemberServiceHandlerClient(ctx, mux, authv1.NewMemberServiceClient(auth))},
		{"auth.AuditService", authv1.RegisterAuditServiceHandlerClient(ctx, mux, authv1.NewAuditServiceClient(auth))},
		{"keyvault.KmsService", keyvaultv1.RegisterKmsServiceHandlerClient(ctx, mux, keyvaultv1.NewKmsServiceClient(keyvault))},
		{"keyvault.ObservabilityService", keyvaultv1.RegisterObservabilityServiceHandlerClient(ctx, mux, keyvaultv1.NewObservabilityServiceClient(keyvault))},
		{"inference.InferenceService", inferencev1.RegisterInferenceServiceHandlerClient(ctx, mux, inferencev1.NewInferenceServiceClient(inference))},
		{"slackadapter.SlackAdapterService", slackadapterv1.RegisterSlackAdapterServiceHandlerClient(ctx, mux, slackadapterv1.NewSlackAdapterServiceClient(OrUnavailable(c.SlackAdapter, "slackadapter")))},
		{"ingestion.IngestionService", ingestionv1.RegisterIngestionServiceHandlerClient(ctx, mux, ingestionv1.NewIngestionServiceClient(ingestion))},
		// Last, so first: grpc-gateway tries a method's patterns newest
		// first, one by one (each failed try allocates), and a secret read
		// is the hottest gateway route. No other service has a pattern under
		// /v1/secrets, so the order changes no answer
		// (TestEveryRouteReachesItsRPC).
		{"keyvault.SecretsService", keyvaultv1.RegisterSecretsServiceHandlerClient(ctx, mux, keyvaultv1.NewSecretsServiceClient(keyvault))},
	}
	for _, r := range regs {
		if r.err != nil {
			return fmt.Errorf("register %s REST routes: %w", r.name, r.err)
		}
	}
	return nil
}
