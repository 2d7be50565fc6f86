package server_test

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/pkg/authtest"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/pki"
	"github.com/rampart-platform/rampart/pkg/principal"
)

// slackAuthPolicy admits the slackadapter alone to VerifyKey and the
// tenant event stream (auth's allow-list), everyone to the rest.
var slackAuthPolicy = []byte(`{"rules": [
 {"methods": ["/rampart.auth.v1.AuthService/VerifyKey", "/rampart.auth.v1.AuthService/WatchTenantEvents"],
  "callers": ["spiffe://rampart.local/svc/slackadapter"]},
 {"methods": ["/rampart.auth.v1.AuthService/GetSigningKeys", "/rampart.auth.v1.KeyService/CreateKey"], "callers": ["*"]}
]}`)

// startAuth serves pkg/authtest's AuthService, minting assertions with
// the signer the fake keyvault and inference verify.
func startAuth(t testing.TB, pkiDir string, signer *principal.Signer) *authtest.Server {
	t.Helper()
	return authtest.StartWith(t, pkiDir, authtest.Options{Signer: signer, Policy: slackAuthPolicy})
}

// createdTenants lists the tenant of every key auth created.
func createdTenants(a *authtest.Server) []string {
	var out []string
	for _, c := range a.Created() {
		out = append(out, c.Tenant)
	}
	return out
}

// fakeVault speaks keyvault's SecretsService over mTLS, scoped by the
// verified principal's tenant, admitting only the slackadapter identity to
// /{env}/slackadapter/* (keyvault's default policy).
type fakeVault struct {
	keyvaultv1.UnimplementedSecretsServiceServer
	addr string

	mu         sync.Mutex
	secrets    map[string]string // tenant \x00 name → value
	reads      []string          // tenant \x00 name
	denyDelete bool              // keyvault's default policy: no delete for slackadapter
}

func startVault(t testing.TB, pkiDir string, signer *principal.Signer) *fakeVault {
	t.Helper()
	f := &fakeVault{secrets: map[string]string{}}
	src, err := mtls.NewSource(mtls.FilesFor(pkiDir, "keyvault"))
	require.NoError(t, err)
	v := principal.NewVerifier(principal.StaticKeys{signer.KID(): signer.PublicKey()})
	gs := grpc.NewServer(grpc.Creds(mtls.ServerCredentials(src)), grpc.ChainUnaryInterceptor(principal.UnaryServerInterceptor(v, principal.ExemptMethods())))
	keyvaultv1.RegisterSecretsServiceServer(gs, f)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	f.addr = lis.Addr().String()
	return f
}

func (f *fakeVault) check(ctx context.Context, name string) (string, error) {
	if id, err := mtls.PeerID(ctx); err != nil || id.String() != pki.ServiceID("slackadapter") {
		return "", status.Error(codes.PermissionDenied, "caller not allowed")
	}
	p, ok := principal.FromContext(ctx)
	if !ok || p.GetTenantId() == "" {
		return "", status.Error(codes.PermissionDenied, "no principal")
	}
	if !strings.HasPrefix(name, "/dev/slackadapter/") {
		return "", status.Errorf(codes.PermissionDenied, "slackadapter may not access %q", name)
	}
	return p.GetTenantId(), nil
}

func (f *fakeVault) GetSecretValue(ctx context.Context, r *keyvaultv1.GetSecretValueRequest) (*keyvaultv1.GetSecretValueResponse, error) {
	tenant, err := f.check(ctx, r.GetName())
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads = append(f.reads, tenant+"\x00"+r.GetName())
	v, ok := f.secrets[tenant+"\x00"+r.GetName()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "secret %q not found", r.GetName())
	}
	return &keyvaultv1.GetSecretValueResponse{Name: r.GetName(), VersionId: "v", SecretString: v, VersionStages: []string{"AWSCURRENT"}}, nil
}

func (f *fakeVault) PutSecretValue(ctx context.Context, r *keyvaultv1.PutSecretValueRequest) (*keyvaultv1.PutSecretValueResponse, error) {
	tenant, err := f.check(ctx, r.GetName())
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.secrets[tenant+"\x00"+r.GetName()]; !ok {
		return nil, status.Errorf(codes.NotFound, "secret %q not found", r.GetName())
	}
	f.secrets[tenant+"\x00"+r.GetName()] = r.GetSecretString()
	return &keyvaultv1.PutSecretValueResponse{Name: r.GetName(), VersionId: "v2"}, nil
}

func (f *fakeVault) CreateSecret(ctx context.Context, r *keyvaultv1.CreateSecretRequest) (*keyvaultv1.CreateSecretResponse, error) {
	tenant, err := f.check(ctx, r.GetName())
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.secrets[tenant+"\x00"+r.GetName()]; ok {
		return nil, status.Errorf(codes.AlreadyExists, "secret %q exists", r.GetName())
	}
	f.secrets[tenant+"\x00"+r.GetName()] = r.GetSecretString()
	return &keyvaultv1.CreateSecretResponse{Name: r.GetName(), VersionId: "v1"}, nil
}

func (f *fakeVault) get(tenant, name string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.secrets[tenant+"\x00"+name]
	return v, ok
}

func (f *fakeVault) DeleteSecret(ctx context.Context, r *keyvaultv1.DeleteSecretRequest) (*keyvaultv1.DeleteSecretResponse, error) {
	tenant, err := f.check(ctx, r.GetName())
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.denyDelete {
		return nil, status.Errorf(codes.PermissionDenied, "slackadapter may not delete %q", r.GetName())
	}
	if !r.GetForceDeleteWithoutRecovery() {
		return nil, status.Error(codes.InvalidArgument, "the fake only force-deletes")
	}
	if _, ok := f.secrets[tenant+"\x00"+r.GetName()]; !ok {
		return nil, status.Errorf(codes.NotFound, "secret %q not found", r.GetName())
	}
	delete(f.secrets, tenant+"\x00"+r.GetName())
	return &keyvaultv1.DeleteSecretResponse{Name: r.GetName()}, nil
}

// dropTenant forgets every secret of tenant (auth purged it, keyvault
// shredded it).
func (f *fakeVault) dropTenant(tenant string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k := range f.secrets {
		if strings.HasPrefix(k, tenant+"\x00") {
			delete(f.secrets, k)
		}
	}
}

// names lists the secret names held for every tenant, as tenant\x00name.
func (f *fakeVault) names() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for k := range f.secrets {
		out = append(out, k)
	}
	return out
}
