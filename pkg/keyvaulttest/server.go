package keyvaulttest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/pkg/grpctest"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/pki"
	"github.com/rampart-platform/rampart/pkg/principal"
)

// Options configure Start.
type Options struct {
	// Keys verify the principal assertions every call must carry.
	Keys principal.Keys
	// Caller, when set, is the only service identity admitted, and only to
	// its own /{env}/{Caller}/* secrets (keyvault's default policy); empty
	// admits every caller of the test PKI to every name.
	Caller string
	// KMS holds the tenants' keys; nil makes a new one.
	KMS *KMS
}

type secret struct {
	str     string
	bin     []byte
	version int
}

// Server is the running stand-in.
type Server struct {
	keyvaultv1.UnimplementedSecretsServiceServer
	keyvaultv1.UnimplementedKmsServiceServer
	keyvaultv1.UnimplementedKeyWrapServiceServer
	keyvaultv1.UnimplementedTenantAdminServiceServer

	// Addr is the gRPC address (127.0.0.1:port).
	Addr string
	// KMS wraps the data keys (Shred a tenant through it).
	KMS *KMS

	caller string
	wraps  atomic.Int64
	reads  atomic.Int64

	mu         sync.Mutex
	secrets    map[string]*secret // tenant \x00 name
	deleted    []string           // names
	denyDelete bool
	fail       map[string]error // name → status
}

// Start serves a stand-in with the "keyvault" certificate of certDir.
func Start(t testing.TB, certDir string, o Options) *Server {
	t.Helper()
	s := &Server{KMS: o.KMS, caller: o.Caller, secrets: map[string]*secret{}, fail: map[string]error{}}
	if s.KMS == nil {
		s.KMS = NewKMS()
	}
	gs := grpctest.NewMTLSServer(t, certDir, "keyvault",
		grpc.ChainUnaryInterceptor(principal.UnaryServerInterceptor(principal.NewVerifier(o.Keys), principal.ExemptMethods(keyWrapMethods, tenantAdminMethods))))
	keyvaultv1.RegisterSecretsServiceServer(gs, s)
	keyvaultv1.RegisterKmsServiceServer(gs, s)
	keyvaultv1.RegisterKeyWrapServiceServer(gs, s)
	keyvaultv1.RegisterTenantAdminServiceServer(gs, s)
	s.Addr = grpctest.Serve(t, gs)
	return s
}

// Put stores (or replaces) the tenant's secret name.
func (s *Server) Put(tenant, name, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.putLocked(tenant, name, &secret{str: value})
}

// PutBinary stores (or replaces) the tenant's binary secret name.
func (s *Server) PutBinary(tenant, name string, value []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.putLocked(tenant, name, &secret{bin: append([]byte(nil), value...)})
}

func (s *Server) putLocked(tenant, name string, v *secret) *secret {
	v.version = 1
	if old := s.secrets[tenant+"\x00"+name]; old != nil {
		v.version = old.version + 1
	}
	s.secrets[tenant+"\x00"+name] = v
	return v
}

// Value returns the tenant's string secret name.
func (s *Server) Value(tenant, name string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.secrets[tenant+"\x00"+name]
	if !ok {
		return "", false
	}
	return v.str, true
}

// Names lists every stored secret as tenant\x00name.
func (s *Server) Names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.secrets))
	for k := range s.secrets {
		out = append(out, k)
	}
	return out
}

// Deleted lists the names deleted through DeleteSecret.
func (s *Server) Deleted() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.deleted...)
}

// DropTenant forgets every secret of tenant (auth purged it, keyvault
// shredded it).
func (s *Server) DropTenant(tenant string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.secrets {
		if strings.HasPrefix(k, tenant+"\x00") {
			delete(s.secrets, k)
		}
	}
}

// DenyDeletes makes DeleteSecret fail with PermissionDenied, as keyvault's
// default policy does for a service without the delete grant.
func (s *Server) DenyDeletes(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denyDelete = on
}

// Fail makes every call on name fail with code (codes.OK: succeed again).
func (s *Server) Fail(name string, code codes.Code) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code == codes.OK {
		delete(s.fail, name)
		return
	}
	s.fail[name] = status.Errorf(code, "keyvault: %s", code)
}

// Reads is the number of GetSecretValue calls admitted.
func (s *Server) Reads() int64 { return s.reads.Load() }

// DataKeys is the number of data keys generated.
func (s *Server) DataKeys() int64 { return s.KMS.Generated.Load() }

// Decrypts is the number of data keys opened.
func (s *Server) Decrypts() int64 { return s.KMS.Decrypted.Load() }

// tenant checks the caller's identity and returns the verified principal's
// tenant: the only tenant a call may act for.
func (s *Server) tenant(ctx context.Context) (string, error) {
	if s.caller != "" {
		if id, err := mtls.PeerID(ctx); err != nil || id.String() != pki.ServiceID(s.caller) {
			return "", status.Error(codes.PermissionDenied, "caller not allowed")
		}
	}
	p, ok := principal.FromContext(ctx)
	if !ok || p.GetTenantId() == "" {
		return "", status.Error(codes.PermissionDenied, "no principal")
	}
	return p.GetTenantId(), nil
}

// check admits a call on name and returns the key of the tenant's secret.
func (s *Server) check(ctx context.Context, name string) (string, error) {
	tenant, err := s.tenant(ctx)
	if err != nil {
		return "", err
	}
	parts := strings.Split(name, "/")
	if len(parts) < 4 || parts[0] != "" || parts[1] == "" || parts[2] == "" {
		return "", status.Error(codes.InvalidArgument, "name: must be /{env}/{service}/{name}")
	}
	if s.caller != "" && parts[2] != s.caller {
		return "", status.Errorf(codes.PermissionDenied, "%s may not access %q", s.caller, name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.fail[name]; err != nil {
		return "", err
	}
	return tenant + "\x00" + name, nil
}

func notFound(name string) error { return status.Errorf(codes.NotFound, "secret %q not found", name) }

func version(v *secret) string { return fmt.Sprintf("v%d", v.version) }

// GetSecretValue implements SecretsService (the current version only).
func (s *Server) GetSecretValue(ctx context.Context, r *keyvaultv1.GetSecretValueRequest) (*keyvaultv1.GetSecretValueResponse, error) {
	k, err := s.check(ctx, r.GetName())
	if err != nil {
		return nil, err
	}
	s.reads.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.secrets[k]
	if !ok {
		return nil, notFound(r.GetName())
	}
	resp := &keyvaultv1.GetSecretValueResponse{Name: r.GetName(), VersionId: version(v), SecretString: v.str, VersionStages: []string{"AWSCURRENT"}}
	if v.bin != nil {
		resp.SecretString, resp.SecretBinary, resp.ContentType = "", v.bin, keyvaultv1.ContentType_CONTENT_TYPE_BINARY
	}
	return resp, nil
}

// CreateSecret implements SecretsService.
func (s *Server) CreateSecret(ctx context.Context, r *keyvaultv1.CreateSecretRequest) (*keyvaultv1.CreateSecretResponse, error) {
	k, err := s.check(ctx, r.GetName())
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.secrets[k]; ok {
		return nil, status.Errorf(codes.AlreadyExists, "secret %q exists", r.GetName())
	}
	v := &secret{str: r.GetSecretString(), version: 1}
	s.secrets[k] = v
	return &keyvaultv1.CreateSecretResponse{Name: r.GetName(), VersionId: version(v)}, nil
}

// PutSecretValue implements SecretsService.
func (s *Server) PutSecretValue(ctx context.Context, r *keyvaultv1.PutSecretValueRequest) (*keyvaultv1.PutSecretValueResponse, error) {
	k, err := s.check(ctx, r.GetName())
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.secrets[k]
	if !ok {
		return nil, notFound(r.GetName())
	}
	v := &secret{str: r.GetSecretString(), version: old.version + 1}
	s.secrets[k] = v
	return &keyvaultv1.PutSecretValueResponse{Name: r.GetName(), VersionId: version(v)}, nil
}

// DeleteSecret implements SecretsService (force deletion only).
func (s *Server) DeleteSecret(ctx context.Context, r *keyvaultv1.DeleteSecretRequest) (*keyvaultv1.DeleteSecretResponse, error) {
	k, err := s.check(ctx, r.GetName())
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.denyDelete {
		return nil, status.Errorf(codes.PermissionDenied, "%s may not delete %q", s.caller, r.GetName())
	}
	if !r.GetForceDeleteWithoutRecovery() {
		return nil, status.Error(codes.InvalidArgument, "the fake only force-deletes")
	}
	if _, ok := s.secrets[k]; !ok {
		return nil, notFound(r.GetName())
	}
	delete(s.secrets, k)
	s.deleted = append(s.deleted, r.GetName())
	return &keyvaultv1.DeleteSecretResponse{Name: r.GetName()}, nil
}

// GenerateDataKey implements KmsService for the caller's tenant.
func (s *Server) GenerateDataKey(ctx context.Context, r *keyvaultv1.GenerateDataKeyRequest) (*keyvaultv1.GenerateDataKeyResponse, error) {
	tenant, err := s.tenant(ctx)
	if err != nil {
		return nil, err
	}
	p, w, err := s.KMS.Generate(tenant, r.GetEncryptionContext())
	if err != nil {
		return nil, status.Error(codes.FailedPrecondition, "tenant key destroyed")
	}
	return &keyvaultv1.GenerateDataKeyResponse{Plaintext: p, CiphertextBlob: w, KeyId: KeyID}, nil
}

// Decrypt implements KmsService for the caller's tenant.
func (s *Server) Decrypt(ctx context.Context, r *keyvaultv1.DecryptRequest) (*keyvaultv1.DecryptResponse, error) {
	tenant, err := s.tenant(ctx)
	if err != nil {
		return nil, err
	}
	p, err := s.KMS.Unwrap(tenant, r.GetCiphertextBlob(), r.GetEncryptionContext())
	switch {
	case errors.Is(err, ErrShredded):
		return nil, status.Error(codes.FailedPrecondition, "tenant key destroyed")
	case err != nil:
		return nil, status.Error(codes.InvalidArgument, "ciphertext_blob: not a data key of this tenant and context")
	}
	return &keyvaultv1.DecryptResponse{Plaintext: p, KeyId: KeyID}, nil
}
