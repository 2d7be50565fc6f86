package secrets_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/pki"
	"github.com/rampart-platform/rampart/pkg/pki/pkitest"
	"github.com/rampart-platform/rampart/pkg/principal"
	"github.com/rampart-platform/rampart/pkg/secrets"
)

// tenantVault answers GetSecretValue from the verified principal's tenant,
// like keyvault does.
type tenantVault struct {
	keyvaultv1.UnimplementedSecretsServiceServer
	data map[string]string // tenant|name → value
}

func (v *tenantVault) GetSecretValue(ctx context.Context, r *keyvaultv1.GetSecretValueRequest) (*keyvaultv1.GetSecretValueResponse, error) {
	p, ok := principal.FromContext(ctx)
	if !ok {
		return nil, status.Error(codes.Unauthenticated, "no principal")
	}
	switch r.GetName() {
	case "/dev/denied/x/y":
		return nil, status.Error(codes.PermissionDenied, "caller may not read")
	case "/dev/bad":
		return nil, status.Error(codes.InvalidArgument, "name: malformed")
	case "/dev/down/x/y":
		return nil, status.Error(codes.Unavailable, "try later")
	case "/dev/bin/x/y":
		return &keyvaultv1.GetSecretValueResponse{Name: r.GetName(), SecretBinary: []byte{9}, ContentType: keyvaultv1.ContentType_CONTENT_TYPE_BINARY}, nil
	}
	val, ok := v.data[p.GetTenantId()+"|"+r.GetName()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "secret %q not found", r.GetName())
	}
	return &keyvaultv1.GetSecretValueResponse{Name: r.GetName(), VersionId: "v1", SecretString: val, VersionStages: []string{"AWSCURRENT"}}, nil
}

func TestKeyvaultSourceOverMTLS(t *testing.T) {
	certDir, _ := pkitest.NewDir(t, "keyvault", "slackadapter")
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	signer, err := principal.NewSigner("k1", priv, time.Minute)
	require.NoError(t, err)
	srvSrc, err := mtls.NewSource(mtls.FilesFor(certDir, "keyvault"))
	require.NoError(t, err)
	gs := grpc.NewServer(grpc.Creds(mtls.ServerCredentials(srvSrc)),
		grpc.ChainUnaryInterceptor(principal.UnaryServerInterceptor(principal.NewVerifier(principal.StaticKeys{"k1": signer.PublicKey()}), principal.ExemptMethods())))
	keyvaultv1.RegisterSecretsServiceServer(gs, &tenantVault{data: map[string]string{
		"ta|/dev/slackadapter/token/bot": "xoxb-a", "tb|/dev/slackadapter/token/bot": "xoxb-b", "svc|/dev/slackadapter/token/bot": "xoxb-svc",
	}})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)

	cliSrc, err := mtls.NewSource(mtls.FilesFor(certDir, "slackadapter"))
	require.NoError(t, err)
	conn, err := mtls.Dial(context.Background(), lis.Addr().String(), cliSrc, pki.ServiceID("keyvault"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })

	// Forwarding: the incoming assertion (as a backend receives it) goes out
	// unchanged, so keyvault answers for the caller's tenant.
	incoming := func(tenant string) context.Context {
		tok, err := signer.Sign(&authv1.Principal{TenantId: tenant, Subject: "u"}, time.Time{})
		require.NoError(t, err)
		ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs(principal.MetadataKey, tok))
		return principal.NewContext(ctx, &authv1.Principal{TenantId: tenant})
	}
	fwd := secrets.NewKeyvault(conn, secrets.KeyvaultOptions{})
	cache, err := secrets.NewCache(fwd, secrets.CacheOptions{Attempts: 1})
	require.NoError(t, err)
	for _, tenant := range []string{"ta", "tb", "ta"} {
		v, err := cache.GetSecretValue(incoming(tenant), "/dev/slackadapter/token/bot", "")
		require.NoError(t, err)
		require.Equal(t, "xoxb-"+tenant[1:], v.String)
	}
	require.Equal(t, 2, cache.Len(), "one entry per tenant")

	// A service principal.
	svc := secrets.NewKeyvault(conn, secrets.KeyvaultOptions{Assertion: func(context.Context) (string, error) {
		return signer.Sign(&authv1.Principal{TenantId: "svc", Subject: "slackadapter"}, time.Time{})
	}})
	v, err := svc.GetSecretValue(context.Background(), "/dev/slackadapter/token/bot", "")
	require.NoError(t, err)
	require.Equal(t, "xoxb-svc", v.String)
	v, err = svc.GetSecretValue(context.Background(), "/dev/bin/x/y", "")
	require.NoError(t, err)
	require.Equal(t, []byte{9}, v.Binary)

	errs := map[string]error{
		"/dev/none/x/y": secrets.ErrNotFound, "/dev/denied/x/y": secrets.ErrDenied, "/dev/bad": secrets.ErrInvalid,
	}
	for name, want := range errs {
		_, err := svc.GetSecretValue(context.Background(), name, "")
		require.ErrorIs(t, err, want, name)
	}
	_, err = svc.GetSecretValue(context.Background(), "/dev/down/x/y", "")
	require.Error(t, err)
	require.False(t, secrets.IsPermanent(err))
	// No principal at all: keyvault refuses.
	_, err = fwd.GetSecretValue(context.Background(), "/dev/slackadapter/token/bot", "")
	require.ErrorIs(t, err, secrets.ErrDenied)
}
