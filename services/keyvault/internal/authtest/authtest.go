package authtest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/apikey"
	"github.com/rampart-platform/rampart/pkg/authz"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/principal"
)

// Policy mirrors the rules of auth's embedded allow-list that concern
// keyvault (services/auth/internal/server/policy.json).
var Policy = []byte(`{"rules": [
 {"methods": ["/rampart.auth.v1.AuthService/GetSigningKeys", "/rampart.auth.v1.AuthService/WatchTenantEvents"],
  "callers": ["spiffe://rampart.local/svc/edge", "spiffe://rampart.local/svc/keyvault"]},
 {"methods": ["/rampart.auth.v1.AuthService/VerifyKey"],
  "callers": ["spiffe://rampart.local/svc/edge", "spiffe://rampart.local/svc/keyvault"]},
 {"methods": ["/rampart.auth.v1.KeyService/GetKey", "/rampart.auth.v1.KeyService/RotateKey"],
  "callers": ["spiffe://rampart.local/svc/keyvault"]}
]}`)

type key struct {
	tenant, subject string
	salt, hash      []byte
	state           authv1.KeyState
	replacedBy      string
}

// Auth is the running stand-in.
type Auth struct {
	authv1.UnimplementedAuthServiceServer
	authv1.UnimplementedKeyServiceServer

	// Addr is the listen address (host:port).
	Addr   string
	signer *principal.Signer

	mu        sync.Mutex
	keys      map[string]*key
	events    []*authv1.WatchTenantEventsResponse
	changed   chan struct{} // closed and replaced on every new event or drop
	dropGen   int
	revokeNew bool
	watches   chan int64
}

// Start serves the stand-in with the "auth" certificate of certDir.
func Start(t testing.TB, certDir string) *Auth {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	a := &Auth{keys: map[string]*key{}, changed: make(chan struct{}), watches: make(chan int64, 64)}
	a.signer, err = principal.NewSigner("authtest", priv, 5*time.Minute)
	require.NoError(t, err)
	src, err := mtls.NewSource(mtls.FilesFor(certDir, "auth"))
	require.NoError(t, err)
	az, err := authz.New(Policy)
	require.NoError(t, err)
	verifier := principal.NewVerifier(principal.StaticKeys{"authtest": a.signer.PublicKey()})
	exempt := principal.ExemptMethods(authv1.AuthService_VerifyKey_FullMethodName, authv1.AuthService_WatchTenantEvents_FullMethodName,
		authv1.AuthService_GetSigningKeys_FullMethodName)
	gs := grpc.NewServer(grpc.Creds(mtls.ServerCredentials(src)),
		grpc.ChainUnaryInterceptor(az.UnaryInterceptor, principal.UnaryServerInterceptor(verifier, exempt)),
		grpc.ChainStreamInterceptor(az.StreamInterceptor, principal.StreamServerInterceptor(verifier, exempt)))
	authv1.RegisterAuthServiceServer(gs, a)
	authv1.RegisterKeyServiceServer(gs, a)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	a.Addr = lis.Addr().String()
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	return a
}

// IssueKey issues an active key for subject in tenant and returns its
// plaintext.
func (a *Auth) IssueKey(t testing.TB, tenant, subject string) string {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	pt, err := a.newKeyLocked(tenant, subject)
	require.NoError(t, err)
	return pt
}

func (a *Auth) newKeyLocked(tenant, subject string) (string, error) {
	k, err := apikey.Generate()
	if err != nil {
		return "", err
	}
	salt, err := apikey.NewSalt()
	if err != nil {
		return "", err
	}
	st := authv1.KeyState_KEY_STATE_ACTIVE
	if a.revokeNew {
		st = authv1.KeyState_KEY_STATE_REVOKED
	}
	a.keys[k.ID] = &key{tenant: tenant, subject: subject, salt: salt, hash: k.Hash(salt), state: st}
	return k.Plaintext(), nil
}

// RevokeNewKeys makes every key issued from now on born revoked (so a
// rotation's testSecret fails).
func (a *Auth) RevokeNewKeys(on bool) {
	a.mu.Lock()
	a.revokeNew = on
	a.mu.Unlock()
}

// State returns a key's state and replacement.
func (a *Auth) State(id string) (authv1.KeyState, string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	k := a.keys[id]
	if k == nil {
		return authv1.KeyState_KEY_STATE_UNSPECIFIED, ""
	}
	return k.state, k.replacedBy
}

// Verify checks a plaintext key as VerifyKey would and returns its tenant
// and key id.
func (a *Auth) Verify(plaintext string) (tenant, keyID string, ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	k, err := a.lookupLocked(plaintext)
	if err != nil {
		return "", "", false
	}
	p, _ := apikey.Parse(plaintext)
	return k.tenant, p.ID, true
}

// Rotate rotates a key out of band (the new plaintext is discarded, as if
// a rotation's answer was lost).
func (a *Auth) Rotate(t testing.TB, plaintext string) {
	t.Helper()
	p, err := apikey.Parse(plaintext)
	require.NoError(t, err)
	a.mu.Lock()
	defer a.mu.Unlock()
	_, err = a.rotateLocked(a.keys[p.ID], p.ID)
	require.NoError(t, err)
}

// Publish appends a tenant event and returns its cursor.
func (a *Auth) Publish(kind authv1.TenantEventKind, tenant string) int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := int64(len(a.events) + 1)
	a.events = append(a.events, &authv1.WatchTenantEventsResponse{Cursor: c, Kind: kind, TenantId: tenant, Time: time.Now().Unix()})
	close(a.changed)
	a.changed = make(chan struct{})
	return c
}

// DropStreams ends every open WatchTenantEvents stream with Unavailable.
func (a *Auth) DropStreams() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.dropGen++
	close(a.changed)
	a.changed = make(chan struct{})
}

// Watches receives the after_cursor of every WatchTenantEvents call.
func (a *Auth) Watches() <-chan int64 { return a.watches }

func (a *Auth) lookupLocked(plaintext string) (*key, error) {
	p, err := apikey.Parse(plaintext)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, "api_key: malformed")
	}
	k := a.keys[p.ID]
	if k == nil || !p.Matches(k.salt, k.hash) {
		return nil, status.Error(codes.Unauthenticated, "invalid API key")
	}
	if k.state != authv1.KeyState_KEY_STATE_ACTIVE && k.state != authv1.KeyState_KEY_STATE_ROTATING {
		return nil, status.Error(codes.Unauthenticated, "API key is not active")
	}
	return k, nil
}

// VerifyKey implements AuthService.
func (a *Auth) VerifyKey(_ context.Context, r *authv1.VerifyKeyRequest) (*authv1.VerifyKeyResponse, error) {
	a.mu.Lock()
	k, err := a.lookupLocked(r.GetApiKey())
	a.mu.Unlock()
	if err != nil {
		return nil, err
	}
	p, _ := apikey.Parse(r.GetApiKey())
	pr := &authv1.Principal{TenantId: k.tenant, KeyId: p.ID, Subject: k.subject, Roles: []string{"member"}}
	tok, err := a.signer.Sign(pr, time.Time{})
	if err != nil {
		return nil, status.Error(codes.Internal, "sign")
	}
	return &authv1.VerifyKeyResponse{Principal: pr, Assertion: tok, CacheUntil: time.Now().Add(time.Minute).Unix()}, nil
}

// visibleLocked applies auth's visibility rule: same tenant, and the
// caller's own keys (members are not tenant admins here).
func (a *Auth) visibleLocked(ctx context.Context, id string) (*key, error) {
	p, ok := principal.FromContext(ctx)
	if !ok {
		return nil, status.Error(codes.Unauthenticated, "missing principal assertion")
	}
	k := a.keys[id]
	if k == nil || k.tenant != p.GetTenantId() || k.subject != p.GetSubject() {
		return nil, status.Errorf(codes.NotFound, "key %s not found", id)
	}
	return k, nil
}

func (a *Auth) meta(id string, k *key) *authv1.ApiKey {
	return &authv1.ApiKey{KeyId: id, Prefix: apikey.Prefix + id, Subject: k.subject, State: k.state, ReplacedBy: k.replacedBy}
}

// GetKey implements KeyService.
func (a *Auth) GetKey(ctx context.Context, r *authv1.GetKeyRequest) (*authv1.GetKeyResponse, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	k, err := a.visibleLocked(ctx, r.GetKeyId())
	if err != nil {
		return nil, err
	}
	return &authv1.GetKeyResponse{Key: a.meta(r.GetKeyId(), k)}, nil
}

// RotateKey implements KeyService.
func (a *Auth) RotateKey(ctx context.Context, r *authv1.RotateKeyRequest) (*authv1.RotateKeyResponse, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	k, err := a.visibleLocked(ctx, r.GetKeyId())
	if err != nil {
		return nil, err
	}
	if r.GetOverlapSeconds() < 0 {
		return nil, status.Error(codes.InvalidArgument, "overlap_seconds: must not be negative")
	}
	pt, err := a.rotateLocked(k, r.GetKeyId())
	if err != nil {
		return nil, err
	}
	p, _ := apikey.Parse(pt)
	return &authv1.RotateKeyResponse{Key: a.meta(p.ID, a.keys[p.ID]), ApiKey: pt, Previous: a.meta(r.GetKeyId(), k)}, nil
}

func (a *Auth) rotateLocked(k *key, id string) (string, error) {
	if k == nil || k.state != authv1.KeyState_KEY_STATE_ACTIVE {
		return "", status.Error(codes.FailedPrecondition, "only an active key can be rotated")
	}
	pt, err := a.newKeyLocked(k.tenant, k.subject)
	if err != nil {
		return "", status.Error(codes.Internal, "generate")
	}
	p, _ := apikey.Parse(pt)
	k.state, k.replacedBy = authv1.KeyState_KEY_STATE_ROTATING, p.ID
	_ = id
	return pt, nil
}

// GetSigningKeys implements AuthService.
func (a *Auth) GetSigningKeys(context.Context, *authv1.GetSigningKeysRequest) (*authv1.GetSigningKeysResponse, error) {
	return &authv1.GetSigningKeysResponse{Keys: []*authv1.SigningKey{{Kid: "authtest", PublicKey: a.signer.PublicKey()}}}, nil
}

// WatchTenantEvents implements AuthService: events after the cursor, then
// new ones as they are published, until DropStreams or the client leaves.
func (a *Auth) WatchTenantEvents(r *authv1.WatchTenantEventsRequest, stream authv1.AuthService_WatchTenantEventsServer) error {
	if r.GetAfterCursor() < 0 {
		return status.Error(codes.InvalidArgument, "after_cursor: must not be negative")
	}
	a.watches <- r.GetAfterCursor()
	if err := stream.SendHeader(metadata.MD{}); err != nil {
		return err
	}
	a.mu.Lock()
	gen := a.dropGen
	a.mu.Unlock()
	next := r.GetAfterCursor()
	for {
		a.mu.Lock()
		if a.dropGen != gen {
			a.mu.Unlock()
			return status.Error(codes.Unavailable, "stream dropped")
		}
		var batch []*authv1.WatchTenantEventsResponse
		for _, e := range a.events {
			if e.GetCursor() > next {
				batch = append(batch, e)
			}
		}
		changed := a.changed
		a.mu.Unlock()
		for _, e := range batch {
			if err := stream.Send(e); err != nil {
				return err
			}
			next = e.GetCursor()
		}
		select {
		case <-changed:
		case <-stream.Context().Done():
			return nil
		}
	}
}
