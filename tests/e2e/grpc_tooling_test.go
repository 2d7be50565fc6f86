package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/rampart-platform/rampart/pkg/grpctest"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/pki"
)

// TestGRPCReflectionForTheCLI is what `grpcurl -cacert .rampart/pki/ca.crt
// -cert .rampart/pki/rampart-cli.crt -key … <addr> list` does, against every
// service of the dev stack: reflection lists the service's own API for the
// CLI identity, health answers, and another service identity is refused.
func TestGRPCReflectionForTheCLI(t *testing.T) {
	s := startStack(t)
	want := map[string]string{
		"auth":         "rampart.auth.v1.AuthService",
		"keyvault":     "rampart.keyvault.v1.SecretsService",
		"inference":    "rampart.inference.v1.InferenceService",
		"ingestion":    "rampart.ingestion.v1.IngestionService",
		"slackadapter": "rampart.slackadapter.v1.SlackAdapterService",
	}
	list := func(t *testing.T, svc, as string) ([]string, error) {
		src, err := mtls.NewSource(mtls.FilesFor(s.env["RAMPART_CA_DIR"], as))
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		conn, err := mtls.Dial(ctx, s.env["RAMPART_"+map[string]string{"auth": "AUTH", "keyvault": "KEYVAULT", "inference": "INFERENCE", "ingestion": "INGESTION", "slackadapter": "SLACKADAPTER"}[svc]+"_ADDR"], src, pki.ServiceID(svc))
		require.NoError(t, err)
		defer conn.Close()
		if as == "rampart-cli" {
			h, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
			require.NoError(t, err)
			require.Equal(t, healthpb.HealthCheckResponse_SERVING, h.GetStatus())
		}
		return grpctest.ListServices(ctx, conn)
	}
	for svc, api := range want {
		t.Run(svc, func(t *testing.T) {
			names, err := list(t, svc, "rampart-cli")
			require.NoError(t, err)
			require.Contains(t, names, api)
			require.Contains(t, names, "grpc.health.v1.Health")

			other := "edge"
			if svc == "auth" {
				other = "ingestion"
			}
			_, err = list(t, svc, other)
			require.Equal(t, codes.PermissionDenied, status.Code(err), "%v", err)
		})
	}
}
