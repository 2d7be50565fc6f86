package server_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/pki"
	"github.com/rampart-platform/rampart/pkg/principal"
)

// fakeAuth speaks auth's proto over mTLS: GetSigningKeys, VerifyKey (keys
// it created) and CreateKey (acting as the verified caller).
type fakeAuth struct {
	authv1.UnimplementedAuthServiceServer
	authv1.UnimplementedKeyServiceServer
	addr   string
	signer *principal.Signer

	mu      sync.Mutex
	keys    map[string]*authv1.Principal // plaintext → principal
	created []string                     // tenants
	events  []*authv1.WatchTenantEventsResponse
	notify  chan struct{}
}

// WatchTenantEvents streams the events after the cursor, then waits for
// more (auth's stream, from the slackadapter identity only).
func (f *fakeAuth) WatchTenantEvents(r *authv1.WatchTenantEventsRequest, st grpc.ServerStreamingServer[authv1.WatchTenantEventsResponse]) error {
	if id, err := mtls.PeerID(st.Context()); err != nil || id.String() != pki.ServiceID("slackadapter") {
		return status.Error(codes.PermissionDenied, "caller")
	}
	after := r.GetAfterCursor()
	for {
		f.mu.Lock()
		var next []*authv1.WatchTenantEventsResponse
		for _, ev := range f.events {
			if ev.GetCursor() > after {
				next = append(next, ev)
			}
		}
		wake := f.notify
		f.mu.Unlock()
		for _, ev := range next {
			if err := st.Send(ev); err != nil {
				return err
			}
			after = ev.GetCursor()
		}
		select {
		case <-st.Context().Done():
			return nil
		case <-wake:
		}
	}
}

// purge appends a PURGED event for tenant to the stream.
func (f *fakeAuth) purge(tenant string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, &authv1.WatchTenantEventsResponse{Cursor: int64(len(f.events) + 1),
		Kind: authv1.TenantEventKind_TENANT_EVENT_KIND_PURGED, TenantId: tenant})
	close(f.notify)
	f.notify = make(chan struct{})
}

func startAuth(t testing.TB, pkiDir string, signer *principal.Signer) *fakeAuth {
	t.Helper()
	f := &fakeAuth{signer: signer, keys: map[string]*authv1.Principal{}, notify: make(chan struct{})}
	src, err := mtls.NewSource(mtls.FilesFor(pkiDir, "auth"))
	require.NoError(t, err)
	v := principal.NewVerifier(principal.StaticKeys{signer.KID(): signer.PublicKey()})
	exempt := principal.ExemptMethods(authv1.AuthService_VerifyKey_FullMethodName, authv1.AuthService_GetSigningKeys_FullMethodName)
	gs := grpc.NewServer(grpc.Creds(mtls.ServerCredentials(src)), grpc.ChainUnaryInterceptor(principal.UnaryServerInterceptor(v, exempt)))
	authv1.RegisterAuthServiceServer(gs, f)
	authv1.RegisterKeyServiceServer(gs, f)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	f.addr = lis.Addr().String()
	return f
}

func (f *fakeAuth) GetSigningKeys(context.Context, *authv1.GetSigningKeysRequest) (*authv1.GetSigningKeysResponse, error) {
	return &authv1.GetSigningKeysResponse{Keys: []*authv1.SigningKey{{Kid: f.signer.KID(), PublicKey: f.signer.PublicKey()}}}, nil
}

func (f *fakeAuth) VerifyKey(ctx context.Context, r *authv1.VerifyKeyRequest) (*authv1.VerifyKeyResponse, error) {
	if id, err := mtls.PeerID(ctx); err != nil || id.String() != pki.ServiceID("slackadapter") {
		return nil, status.Error(codes.PermissionDenied, "caller")
	}
	f.mu.Lock()
	p, ok := f.keys[r.GetApiKey()]
	f.mu.Unlock()
	if !ok {
		return nil, status.Error(codes.Unauthenticated, "invalid API key")
	}
	tok, err := f.signer.Sign(p, time.Time{})
	if err != nil {
		return nil, err
	}
	return &authv1.VerifyKeyResponse{Principal: p, Assertion: tok}, nil
}

func (f *fakeAuth) CreateKey(ctx context.Context, r *authv1.CreateKeyRequest) (*authv1.CreateKeyResponse, error) {
	caller, ok := principal.FromContext(ctx)
	if !ok {
		return nil, status.Error(codes.Unauthenticated, "no principal")
	}
	if !principal.HasScope(caller, "admin") {
		return nil, status.Error(codes.PermissionDenied, "scopes exceed the creating key's own grant")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	id := fmt.Sprintf("key%09d", len(f.keys)+1)
	plain := "rk_" + id + "SECRETCANARY" + strings.Repeat("x", 30)
	f.keys[plain] = &authv1.Principal{TenantId: caller.GetTenantId(), KeyId: id, Subject: caller.GetSubject(),
		Roles: caller.GetRoles(), Scopes: r.GetScopes()}
	f.created = append(f.created, caller.GetTenantId())
	return &authv1.CreateKeyResponse{Key: &authv1.ApiKey{KeyId: id, Name: r.GetName()}, ApiKey: plain}, nil
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

// deleteTenant makes every key of tenant fail verification, as auth does
// once a tenant is deleted.
func (f *fakeAuth) deleteTenant(tenant string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, p := range f.keys {
		if p.GetTenantId() == tenant {
			delete(f.keys, k)
		}
	}
}
