package backend_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	ingestionv1 "github.com/rampart-platform/rampart/gen/go/rampart/ingestion/v1"
	"github.com/rampart-platform/rampart/pkg/authtest"
	"github.com/rampart-platform/rampart/pkg/backend"
	"github.com/rampart-platform/rampart/pkg/config"
	"github.com/rampart-platform/rampart/pkg/grpctest"
	"github.com/rampart-platform/rampart/pkg/principal"
)

const policy = `{"rules":[
 {"methods":["/grpc.health.v1.Health/*"],"callers":["*"]},
 {"methods":["/rampart.ingestion.v1.IngestionService/Search"],"callers":["spiffe://rampart.local/svc/edge"]}]}`

// tenantEcho answers Search with the tenant of the verified principal.
type tenantEcho struct {
	ingestionv1.UnimplementedIngestionServiceServer
}

func (tenantEcho) Search(ctx context.Context, _ *ingestionv1.SearchRequest) (*ingestionv1.SearchResponse, error) {
	p, ok := principal.FromContext(ctx)
	if !ok {
		return nil, status.Error(codes.Internal, "no principal")
	}
	return &ingestionv1.SearchResponse{Passages: []*ingestionv1.Passage{{Text: p.GetTenantId()}}}, nil
}

type cfg struct{ config.Common }

func TestRun(t *testing.T) {
	f := grpctest.NewFixture(t, "auth", "ingestion", "edge")
	dir, signer := f.Dir, f.Signer

	auth := authtest.StartWith(t, dir, authtest.Options{Signer: signer}) // serves GetSigningKeys
	t.Setenv("RAMPART_AUTH_ADDR", auth.Addr)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrs := make(chan [2]string, 1)
	done := make(chan error, 1)
	spec := backend.Spec{Name: "ingestion", DefaultPolicy: []byte(policy)}
	args := []string{"--listen-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--cert-dir", dir}
	go func() {
		done <- backend.Run(ctx, spec, &cfg{Common: config.Defaults("ingestion")}, args, func(_ context.Context, env *backend.Env) error {
			ingestionv1.RegisterIngestionServiceServer(env.Server.GRPC(), tenantEcho{})
			addrs <- [2]string{env.Server.Addr().String(), env.Server.AdminAddr().String()}
			return nil
		})
	}()
	var addr, admin string
	select {
	case a := <-addrs:
		addr, admin = a[0], a[1]
	case err := <-done:
		t.Fatalf("backend.Run returned early: %v", err)
	}

	edge := ingestionv1.NewIngestionServiceClient(f.Dial(t, "edge", addr, "ingestion"))
	other := ingestionv1.NewIngestionServiceClient(f.Dial(t, "auth", addr, "ingestion"))
	good, err := signer.SignFor(&authv1.Principal{TenantId: "t_1"}, "ingestion", time.Time{})
	require.NoError(t, err)
	// The service's name is its audience (ADR 0083): an assertion made for
	// another service, or for none, is refused.
	forInference, err := signer.SignFor(&authv1.Principal{TenantId: "t_1"}, "inference", time.Time{})
	require.NoError(t, err)
	noAudience, err := signer.Sign(&authv1.Principal{TenantId: "t_1"}, time.Time{})
	require.NoError(t, err)
	forgedBytes := []byte(good)
	if forgedBytes[len(forgedBytes)-10] == 'A' { // a signature digit, never padding bits
		forgedBytes[len(forgedBytes)-10] = 'B'
	} else {
		forgedBytes[len(forgedBytes)-10] = 'A'
	}
	forged := string(forgedBytes)

	req := &ingestionv1.SearchRequest{Collection: "c", Query: "q"}
	tests := []struct {
		name      string
		client    ingestionv1.IngestionServiceClient
		assertion string
		want      codes.Code
	}{
		{"allowed caller with assertion", edge, good, codes.OK},
		{"allowed caller without assertion", edge, "", codes.Unauthenticated},
		{"allowed caller with forged assertion", edge, forged, codes.Unauthenticated},
		{"allowed caller with another service's assertion", edge, forInference, codes.Unauthenticated},
		{"allowed caller with an assertion for no service", edge, noAudience, codes.Unauthenticated},
		{"caller not on the allow-list", other, good, codes.PermissionDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cctx := ctx
			if tt.assertion != "" {
				cctx = principal.AppendToOutgoing(ctx, tt.assertion)
			}
			// The first call may race the background key fetch; the
			// verifier refreshes on an unknown kid, so one call suffices.
			resp, err := tt.client.Search(cctx, req)
			require.Equal(t, tt.want, status.Code(err), "%v", err)
			if tt.want == codes.OK {
				require.Equal(t, "t_1", resp.GetPassages()[0].GetText(), "tenant comes from the assertion")
			}
		})
	}

	health, err := healthpb.NewHealthClient(f.Dial(t, "auth", addr, "ingestion")).Check(ctx, &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	require.Equal(t, healthpb.HealthCheckResponse_SERVING, health.GetStatus())

	require.Eventually(t, func() bool {
		return backend.Run(ctx, spec, &cfg{Common: config.Defaults("ingestion")},
			[]string{"healthcheck", "--admin-addr", admin}, nil) == nil
	}, 5*time.Second, 50*time.Millisecond, "healthcheck mode must report the running service ready")

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(15 * time.Second):
		t.Fatal("backend did not stop")
	}
	err = backend.Run(context.Background(), spec, &cfg{Common: config.Defaults("ingestion")},
		[]string{"healthcheck", "--admin-addr", admin}, nil)
	require.Error(t, err, "healthcheck must fail once the service is gone")
}

func TestRunHelpPrintsUsage(t *testing.T) {
	spec := backend.Spec{Name: "ingestion", DefaultPolicy: []byte(policy)}
	err := backend.Run(context.Background(), spec, &cfg{Common: config.Defaults("ingestion")}, []string{"-h"}, nil)
	require.NoError(t, err, "-h is not an error")
}

// authCfg carries its own auth address, as a service with an --auth-addr flag does.
type authCfg struct {
	config.Common
	Auth string `flag:"auth-addr"`
}

func (c *authCfg) AuthTarget() string { return c.Auth }

func TestAuthTargetFromConfig(t *testing.T) {
	f := grpctest.NewFixture(t, "auth", "ingestion")
	dir := f.Dir
	auth := authtest.StartWith(t, dir, authtest.Options{Signer: f.Signer})
	t.Setenv("RAMPART_AUTH_ADDR", "127.0.0.1:1") // wrong on purpose: the flag must win

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan string, 1)
	done := make(chan error, 1)
	args := []string{"--listen-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--cert-dir", dir, "--auth-addr", auth.Addr}
	go func() {
		done <- backend.Run(ctx, backend.Spec{Name: "ingestion", DefaultPolicy: []byte(policy)}, &authCfg{Common: config.Defaults("ingestion")}, args,
			func(ctx context.Context, env *backend.Env) error {
				conn, err := env.Dial(ctx, "auth")
				if err != nil {
					return err
				}
				defer conn.Close()
				resp, err := authv1.NewAuthServiceClient(conn).GetSigningKeys(ctx, &authv1.GetSigningKeysRequest{})
				if err != nil {
					return err
				}
				got <- resp.GetKeys()[0].GetKid()
				return nil
			})
	}()
	select {
	case kid := <-got:
		require.Equal(t, f.Signer.KID(), kid, "Env.Dial(\"auth\") uses the config's auth address")
	case err := <-done:
		t.Fatalf("Run returned early: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("timed out")
	}
	cancel()
	// Cancelled during start-up, Run may stop before serving: that is fine.
	if err := <-done; err != nil {
		require.ErrorIs(t, err, context.Canceled)
	}
}

// TestRunMigrate: "migrate" runs only Spec.Migrate with the loaded
// configuration (no certificates, no listener, no setup) and reports its
// error; a service without a database says so.
func TestRunMigrate(t *testing.T) {
	var got string
	spec := backend.Spec{Name: "ingestion", DefaultPolicy: []byte(policy)}
	c := &cfg{Common: config.Defaults("ingestion")}
	spec.Migrate = func(context.Context, *slog.Logger) error { got = c.DataDir; return nil }
	dir := t.TempDir()
	setup := func(context.Context, *backend.Env) error { t.Fatal("migrate must not start the service"); return nil }
	require.NoError(t, backend.Run(t.Context(), spec, c, []string{"migrate", "--data-dir", dir, "--cert-dir", "/nonexistent"}, setup))
	require.Equal(t, dir, got, "the configuration is loaded first")

	spec.Migrate = func(context.Context, *slog.Logger) error { return errors.New("schema too new") }
	err := backend.Run(t.Context(), spec, c, []string{"migrate", "--data-dir", dir}, setup)
	require.ErrorContains(t, err, "migrate: schema too new")

	spec.Migrate = nil
	err = backend.Run(t.Context(), spec, c, []string{"migrate", "--data-dir", dir}, setup)
	require.ErrorContains(t, err, "no database")
}
