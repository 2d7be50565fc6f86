package inferencetest

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"net"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/pki"
	"github.com/rampart-platform/rampart/pkg/principal"
)

// FakeKeyvault is a test double of keyvault's SecretsService
// (GetSecretValue) and KmsService (GenerateDataKey, Decrypt) served over
// real mTLS with real principal verification. Like keyvault it takes the
// tenant only from the verified principal, allows the inference identity to
// read only /{env}/inference/* names (its default policy) and binds wrapped
// data keys to the tenant and the encryption context.
type FakeKeyvault struct {
	// Addr is the gRPC address on loopback.
	Addr string

	mu      sync.Mutex
	secrets map[string]string // tenant \x00 name → value
	keks    map[string][]byte // tenant → key-encryption key
	reads   atomic.Int64
	genKeys atomic.Int64
	decrypt atomic.Int64
}

// StartKeyvault serves a FakeKeyvault with the "keyvault" certificate of
// pkiDir, verifying principal assertions with keys.
func StartKeyvault(t testing.TB, pkiDir string, keys principal.Keys) *FakeKeyvault {
	t.Helper()
	src, err := mtls.NewSource(mtls.FilesFor(pkiDir, "keyvault"))
	require.NoError(t, err)
	v := principal.NewVerifier(keys)
	gs := grpc.NewServer(grpc.Creds(mtls.ServerCredentials(src)),
		grpc.ChainUnaryInterceptor(principal.UnaryServerInterceptor(v, principal.ExemptMethods())))
	f := &FakeKeyvault{secrets: map[string]string{}, keks: map[string][]byte{}}
	keyvaultv1.RegisterSecretsServiceServer(gs, &fakeSecrets{f: f})
	keyvaultv1.RegisterKmsServiceServer(gs, &fakeKMS{f: f})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	f.Addr = lis.Addr().String()
	return f
}

// Put stores (or rotates) the tenant's secret name.
func (f *FakeKeyvault) Put(tenant, name, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.secrets[tenant+"\x00"+name] = value
}

// Reads is the number of GetSecretValue calls served.
func (f *FakeKeyvault) Reads() int64 { return f.reads.Load() }

// DataKeys is the number of GenerateDataKey calls served.
func (f *FakeKeyvault) DataKeys() int64 { return f.genKeys.Load() }

// Decrypts is the number of Decrypt calls served.
func (f *FakeKeyvault) Decrypts() int64 { return f.decrypt.Load() }

// caller checks the mTLS identity and returns the principal's tenant.
func caller(ctx context.Context) (string, error) {
	id, err := mtls.PeerID(ctx)
	if err != nil || id.String() != pki.ServiceID("inference") {
		return "", status.Error(codes.PermissionDenied, "caller not allowed")
	}
	p, ok := principal.FromContext(ctx)
	if !ok || p.GetTenantId() == "" {
		return "", status.Error(codes.PermissionDenied, "no principal")
	}
	return p.GetTenantId(), nil
}

type fakeSecrets struct {
	keyvaultv1.UnimplementedSecretsServiceServer
	f *FakeKeyvault
}

func (s *fakeSecrets) GetSecretValue(ctx context.Context, r *keyvaultv1.GetSecretValueRequest) (*keyvaultv1.GetSecretValueResponse, error) {
	tenant, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	s.f.reads.Add(1)
	parts := strings.Split(r.GetName(), "/")
	if len(parts) < 4 || parts[0] != "" || parts[2] != "inference" {
		return nil, status.Errorf(codes.PermissionDenied, "inference may not read %q", r.GetName())
	}
	s.f.mu.Lock()
	val, ok := s.f.secrets[tenant+"\x00"+r.GetName()]
	s.f.mu.Unlock()
	if !ok {
		return nil, status.Errorf(codes.NotFound, "secret %q not found", r.GetName())
	}
	return &keyvaultv1.GetSecretValueResponse{Name: r.GetName(), VersionId: "v", SecretString: val, VersionStages: []string{"AWSCURRENT"}}, nil
}

type fakeKMS struct {
	keyvaultv1.UnimplementedKmsServiceServer
	f *FakeKeyvault
}

func (k *fakeKMS) gcm(tenant string) (cipher.AEAD, error) {
	k.f.mu.Lock()
	kek, ok := k.f.keks[tenant]
	if !ok {
		kek = make([]byte, 32)
		_, _ = rand.Read(kek)
		k.f.keks[tenant] = kek
	}
	k.f.mu.Unlock()
	b, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

func contextAAD(tenant string, ec map[string]string) []byte {
	keys := make([]string, 0, len(ec))
	for key := range ec {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	b := []byte(tenant)
	for _, key := range keys {
		b = append(append(append(append(b, 0), key...), 0), ec[key]...)
	}
	return b
}

func (k *fakeKMS) GenerateDataKey(ctx context.Context, r *keyvaultv1.GenerateDataKeyRequest) (*keyvaultv1.GenerateDataKeyResponse, error) {
	tenant, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	k.f.genKeys.Add(1)
	g, err := k.gcm(tenant)
	if err != nil {
		return nil, status.Error(codes.Internal, "kms")
	}
	dek := make([]byte, 32)
	nonce := make([]byte, g.NonceSize())
	_, _ = rand.Read(dek)
	_, _ = rand.Read(nonce)
	blob := g.Seal(nonce, nonce, dek, contextAAD(tenant, r.GetEncryptionContext()))
	return &keyvaultv1.GenerateDataKeyResponse{Plaintext: dek, CiphertextBlob: blob, KeyId: tenant + "/1"}, nil
}

func (k *fakeKMS) Decrypt(ctx context.Context, r *keyvaultv1.DecryptRequest) (*keyvaultv1.DecryptResponse, error) {
	tenant, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	k.f.decrypt.Add(1)
	g, err := k.gcm(tenant)
	if err != nil {
		return nil, status.Error(codes.Internal, "kms")
	}
	blob := r.GetCiphertextBlob()
	if len(blob) < g.NonceSize() {
		return nil, status.Error(codes.InvalidArgument, "ciphertext_blob: malformed")
	}
	dek, err := g.Open(nil, blob[:g.NonceSize()], blob[g.NonceSize():], contextAAD(tenant, r.GetEncryptionContext()))
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, "ciphertext_blob: not a data key of this tenant and context")
	}
	return &keyvaultv1.DecryptResponse{Plaintext: dek, KeyId: tenant + "/1"}, nil
}
