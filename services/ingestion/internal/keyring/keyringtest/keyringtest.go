// Package keyringtest is a test KMS that really wraps data keys: one
// AES-256-GCM master key per tenant, the encryption context bound as AAD,
// and a Shred that destroys a tenant's master key like keyvault's tenant
// crypto-shred. Serve it as keyvault's KmsService over mTLS (Server) or
// call it in-process (Direct).
package keyringtest

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/pkg/principal"
)

// KMS is the fake.
type KMS struct {
	mu       sync.Mutex
	masters  map[string]cipher.AEAD
	shredded map[string]bool
	// Generated and Decrypted count calls.
	Generated, Decrypted atomic.Int64
}

// ErrShredded is returned for a shredded tenant.
var ErrShredded = errors.New("tenant key destroyed")

// New returns an empty KMS.
func New() *KMS { return &KMS{masters: map[string]cipher.AEAD{}, shredded: map[string]bool{}} }

func (k *KMS) master(tenant string) (cipher.AEAD, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.shredded[tenant] {
		return nil, ErrShredded
	}
	if m, ok := k.masters[tenant]; ok {
		return m, nil
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	b, _ := aes.NewCipher(key)
	g, _ := cipher.NewGCM(b)
	k.masters[tenant] = g
	return g, nil
}

// Shred destroys a tenant's master key.
func (k *KMS) Shred(tenant string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.masters, tenant)
	k.shredded[tenant] = true
}

func aad(ec map[string]string) []byte {
	b, _ := json.Marshal(ec) // map keys marshal sorted
	return b
}

// Generate makes a data key for tenant.
func (k *KMS) Generate(tenant string, ec map[string]string) (plain, wrapped []byte, err error) {
	m, err := k.master(tenant)
	if err != nil {
		return nil, nil, err
	}
	k.Generated.Add(1)
	plain = make([]byte, 32)
	_, _ = rand.Read(plain)
	nonce := make([]byte, m.NonceSize())
	_, _ = rand.Read(nonce)
	return plain, m.Seal(nonce, nonce, plain, aad(ec)), nil
}

// Unwrap opens a data key of tenant.
func (k *KMS) Unwrap(tenant string, wrapped []byte, ec map[string]string) ([]byte, error) {
	m, err := k.master(tenant)
	if err != nil {
		return nil, err
	}
	k.Decrypted.Add(1)
	n := m.NonceSize()
	if len(wrapped) < n {
		return nil, errors.New("malformed blob")
	}
	return m.Open(nil, wrapped[:n], wrapped[n:], aad(ec))
}

// Direct is keyring.KMS in-process; the tenant is the encryption
// context's "tenant".
type Direct struct{ K *KMS }

// GenerateDataKey implements keyring.KMS.
func (d Direct) GenerateDataKey(_ context.Context, ec map[string]string) ([]byte, []byte, string, error) {
	p, w, err := d.K.Generate(ec["tenant"], ec)
	return p, w, "test-1", err
}

// Decrypt implements keyring.KMS.
func (d Direct) Decrypt(_ context.Context, wrapped []byte, ec map[string]string) ([]byte, error) {
	return d.K.Unwrap(ec["tenant"], wrapped, ec)
}

// Server is keyvault's KmsService over the fake; the tenant is the verified
// principal's, as in keyvault.
type Server struct {
	keyvaultv1.UnimplementedKmsServiceServer
	K *KMS
}

func tenantOf(ctx context.Context) (string, error) {
	p, ok := principal.FromContext(ctx)
	if !ok {
		return "", status.Error(codes.Unauthenticated, "no principal")
	}
	return p.GetTenantId(), nil
}

// GenerateDataKey implements the RPC.
func (s Server) GenerateDataKey(ctx context.Context, r *keyvaultv1.GenerateDataKeyRequest) (*keyvaultv1.GenerateDataKeyResponse, error) {
	t, err := tenantOf(ctx)
	if err != nil {
		return nil, err
	}
	p, w, err := s.K.Generate(t, r.GetEncryptionContext())
	if err != nil {
		return nil, status.Error(codes.FailedPrecondition, err.Error())
	}
	return &keyvaultv1.GenerateDataKeyResponse{Plaintext: p, CiphertextBlob: w, KeyId: "test-1"}, nil
}

// Decrypt implements the RPC.
func (s Server) Decrypt(ctx context.Context, r *keyvaultv1.DecryptRequest) (*keyvaultv1.DecryptResponse, error) {
	t, err := tenantOf(ctx)
	if err != nil {
		return nil, err
	}
	p, err := s.K.Unwrap(t, r.GetCiphertextBlob(), r.GetEncryptionContext())
	switch {
	case errors.Is(err, ErrShredded):
		return nil, status.Error(codes.FailedPrecondition, "tenant key destroyed")
	case err != nil:
		return nil, status.Error(codes.InvalidArgument, "cannot decrypt")
	}
	return &keyvaultv1.DecryptResponse{Plaintext: p, KeyId: "test-1"}, nil
}

// Secrets is a fake of keyvault's SecretsService: values in memory per
// (tenant from the verified principal, name), enough of the API for
// ingestion's connections (create, put, get current, force delete).
type Secrets struct {
	keyvaultv1.UnimplementedSecretsServiceServer
	mu     sync.Mutex
	values map[string]string
	// Deleted lists deleted names.
	Deleted []string
}

// NewSecrets returns an empty fake.
func NewSecrets() *Secrets { return &Secrets{values: map[string]string{}} }

// Value returns a stored value (tests).
func (s *Secrets) Value(tenant, name string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.values[tenant+"\x00"+name]
	return v, ok
}

// CreateSecret implements the RPC.
func (s *Secrets) CreateSecret(ctx context.Context, r *keyvaultv1.CreateSecretRequest) (*keyvaultv1.CreateSecretResponse, error) {
	t, err := tenantOf(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := t + "\x00" + r.GetName()
	if _, ok := s.values[k]; ok {
		return nil, status.Error(codes.AlreadyExists, "secret exists")
	}
	s.values[k] = r.GetSecretString()
	return &keyvaultv1.CreateSecretResponse{}, nil
}

// PutSecretValue implements the RPC.
func (s *Secrets) PutSecretValue(ctx context.Context, r *keyvaultv1.PutSecretValueRequest) (*keyvaultv1.PutSecretValueResponse, error) {
	t, err := tenantOf(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := t + "\x00" + r.GetName()
	if _, ok := s.values[k]; !ok {
		return nil, status.Error(codes.NotFound, "secret not found")
	}
	s.values[k] = r.GetSecretString()
	return &keyvaultv1.PutSecretValueResponse{}, nil
}

// GetSecretValue implements the RPC.
func (s *Secrets) GetSecretValue(ctx context.Context, r *keyvaultv1.GetSecretValueRequest) (*keyvaultv1.GetSecretValueResponse, error) {
	t, err := tenantOf(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.values[t+"\x00"+r.GetName()]
	if !ok {
		return nil, status.Error(codes.NotFound, "secret not found")
	}
	return &keyvaultv1.GetSecretValueResponse{Name: r.GetName(), SecretString: v}, nil
}

// DeleteSecret implements the RPC.
func (s *Secrets) DeleteSecret(ctx context.Context, r *keyvaultv1.DeleteSecretRequest) (*keyvaultv1.DeleteSecretResponse, error) {
	t, err := tenantOf(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := t + "\x00" + r.GetName()
	if _, ok := s.values[k]; !ok {
		return nil, status.Error(codes.NotFound, "secret not found")
	}
	delete(s.values, k)
	s.Deleted = append(s.Deleted, r.GetName())
	return &keyvaultv1.DeleteSecretResponse{Name: r.GetName()}, nil
}
