package authtest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/apikey"
	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/principal"
)

// key is a stored key: only the salted hash of its secret is kept, as auth
// keeps it.
type key struct {
	p          *authv1.Principal
	salt, hash []byte
	state      authv1.KeyState
	replacedBy string
}

// Created records a CreateKey call.
type Created struct {
	Tenant    string
	Plaintext string
}

// Recovered records a RecoverOwner call.
type Recovered struct {
	Peer string // SPIFFE ID of the caller
	Req  *authv1.RecoverOwnerRequest
	Key  string // the plaintext returned
}

// AddKey issues an active key for p and returns its plaintext; the stored
// principal gets the new key id.
func (s *Server) AddKey(t testing.TB, p *authv1.Principal) string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	pt, err := s.newKeyLocked(p)
	require.NoError(t, err)
	return pt
}

// IssueKey issues an active key for subject in tenant, with the member
// role, and returns its plaintext.
func (s *Server) IssueKey(t testing.TB, tenant, subject string) string {
	t.Helper()
	return s.AddKey(t, &authv1.Principal{TenantId: tenant, Subject: subject, Roles: []string{"member"}})
}

func (s *Server) newKeyLocked(p *authv1.Principal) (string, error) {
	k, err := apikey.Generate()
	if err != nil {
		return "", err
	}
	salt, err := apikey.NewSalt()
	if err != nil {
		return "", err
	}
	p = proto.CloneOf(p)
	p.KeyId = k.ID
	st := authv1.KeyState_KEY_STATE_ACTIVE
	if s.revokeNew {
		st = authv1.KeyState_KEY_STATE_REVOKED
	}
	s.keys[k.ID] = &key{p: p, salt: salt, hash: k.Hash(salt), state: st}
	return k.Plaintext(), nil
}

// KeyID returns the id of a plaintext key.
func KeyID(t testing.TB, plaintext string) string {
	t.Helper()
	k, err := apikey.Parse(plaintext)
	require.NoError(t, err)
	return k.ID
}

// RevokeNewKeys makes every key issued from now on born revoked (so a
// rotation's test of the new key fails).
func (s *Server) RevokeNewKeys(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revokeNew = on
}

// Revoke revokes a key and publishes the revocation event.
func (s *Server) Revoke(keyID, tenantID string) {
	s.RevokeSilently(keyID)
	s.PublishRevocation(&authv1.WatchRevocationsResponse{Kind: authv1.RevocationKind_REVOCATION_KIND_KEY_REVOKED, KeyId: keyID, TenantId: tenantID})
}

// RevokeSilently revokes a key without publishing an event (an event lost
// while the stream was down).
func (s *Server) RevokeSilently(keyID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := s.keys[keyID]; k != nil {
		k.state = authv1.KeyState_KEY_STATE_REVOKED
	}
}

// DeleteTenant makes every key of tenant fail verification, as auth does
// once a tenant is deleted.
func (s *Server) DeleteTenant(tenant string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range s.keys {
		if k.p.GetTenantId() == tenant {
			k.state = authv1.KeyState_KEY_STATE_REVOKED
		}
	}
}

// SuspendTenant makes tenant's keys fail verification as auth does for a
// suspended tenant (Unauthenticated with an ErrorInfo whose reason is
// grpcerr.ReasonTenantSuspended, ADR 0123 §2) and publishes the
// revocation event; ResumeTenant undoes it.
func (s *Server) SuspendTenant(tenant string) {
	s.mu.Lock()
	if s.suspended == nil {
		s.suspended = map[string]string{}
	}
	s.suspended[tenant] = grpcerr.ReasonTenantSuspended
	s.mu.Unlock()
	s.PublishRevocation(&authv1.WatchRevocationsResponse{Kind: authv1.RevocationKind_REVOCATION_KIND_TENANT_SUSPENDED, TenantId: tenant})
}

// MarkTenantDeleted makes a tenant's right keys fail as auth's do for a
// deleted tenant waiting for its purge (the ErrorInfo's reason
// TENANT_DELETED), with the same event as SuspendTenant.
func (s *Server) MarkTenantDeleted(tenant string) {
	s.SuspendTenant(tenant)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.suspended[tenant] = grpcerr.ReasonTenantDeleted
}

// ResumeTenant lets a suspended tenant's keys verify again.
func (s *Server) ResumeTenant(tenant string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.suspended, tenant)
}

// State returns a key's state and replacement.
func (s *Server) State(id string) (authv1.KeyState, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.keys[id]
	if k == nil {
		return authv1.KeyState_KEY_STATE_UNSPECIFIED, ""
	}
	return k.state, k.replacedBy
}

// Verify checks a plaintext key as VerifyKey would and returns its tenant
// and key id.
func (s *Server) Verify(plaintext string) (tenant, keyID string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, err := s.lookupLocked(plaintext)
	if err != nil {
		return "", "", false
	}
	return k.p.GetTenantId(), k.p.GetKeyId(), true
}

// Rotate rotates a key out of band (the new plaintext is discarded, as if
// a rotation's answer was lost).
func (s *Server) Rotate(t testing.TB, plaintext string) {
	t.Helper()
	id := KeyID(t, plaintext)
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.rotateLocked(s.keys[id])
	require.NoError(t, err)
}

// Created returns the CreateKey calls served so far.
func (s *Server) Created() []Created {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Created(nil), s.created...)
}

// Recovered returns the RecoverOwner calls served so far.
func (s *Server) Recovered() []Recovered {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Recovered(nil), s.recovered...)
}

func (s *Server) lookupLocked(plaintext string) (*key, error) {
	p, err := apikey.Parse(plaintext)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, "api_key: malformed")
	}
	k := s.keys[p.ID]
	if k == nil || !p.Matches(k.salt, k.hash) {
		return nil, status.Error(codes.Unauthenticated, "invalid API key")
	}
	if k.state != authv1.KeyState_KEY_STATE_ACTIVE && k.state != authv1.KeyState_KEY_STATE_ROTATING {
		return nil, status.Error(codes.Unauthenticated, "API key is not active")
	}
	if reason := s.suspended[k.p.GetTenantId()]; reason != "" {
		st, err := status.New(codes.Unauthenticated, "invalid api key").WithDetails(grpcerr.TenantNotActiveDetails(reason)...)
		if err != nil {
			return nil, status.Error(codes.Internal, "details")
		}
		return nil, st.Err()
	}
	return k, nil
}

// VerifyKey implements AuthService.
func (s *Server) VerifyKey(_ context.Context, req *authv1.VerifyKeyRequest) (*authv1.VerifyKeyResponse, error) {
	s.VerifyCalls.Add(1)
	s.mu.Lock()
	k, err := s.lookupLocked(req.GetApiKey())
	var p *authv1.Principal
	if err == nil {
		p = proto.CloneOf(k.p)
	}
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	// As auth: one assertion per audience asked for, at least one (ADR 0083).
	if len(req.GetAudiences()) == 0 {
		return nil, status.Error(codes.InvalidArgument, "audiences: name the services the assertions are for")
	}
	resp := &authv1.VerifyKeyResponse{CacheUntil: s.CacheUntil.Load()}
	assertions, err := s.signer.SignEach(p, req.GetAudiences(), time.Time{})
	if err != nil {
		return nil, status.Error(codes.Internal, "sign")
	}
	for i, aud := range req.GetAudiences() {
		resp.Assertions = append(resp.Assertions, &authv1.AudienceAssertion{Audience: aud, Assertion: assertions[i]})
	}
	resp.Assertion = resp.Assertions[0].GetAssertion()
	signed, err := s.Verifier.Verify(resp.Assertion)
	if err != nil {
		return nil, status.Error(codes.Internal, "verify")
	}
	resp.Principal = signed
	return resp, nil
}

// WhoAmI implements AuthService from the verified assertion only.
func (s *Server) WhoAmI(ctx context.Context, _ *authv1.WhoAmIRequest) (*authv1.WhoAmIResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	s.mu.Lock()
	s.lastMD = md.Copy()
	s.mu.Unlock()
	p, ok := principal.FromContext(ctx)
	if !ok {
		return nil, status.Error(codes.Unauthenticated, "missing principal assertion")
	}
	return &authv1.WhoAmIResponse{TenantId: p.GetTenantId(), KeyId: p.GetKeyId(), Subject: p.GetSubject(),
		Roles: p.GetRoles(), Scopes: p.GetScopes()}, nil
}

// Bootstrap implements AuthService far enough for its callers: the tenant
// id is "t_" + the name and, with an owner subject, a real owner key
// (scope admin) of that tenant is issued, which Verify then accepts; a
// second one with an owner is AlreadyExists, as in auth.
func (s *Server) Bootstrap(_ context.Context, req *authv1.BootstrapRequest) (*authv1.BootstrapResponse, error) {
	if req.GetTenantName() == "" {
		return nil, status.Error(codes.InvalidArgument, "tenant_name: required")
	}
	resp := &authv1.BootstrapResponse{TenantId: "t_" + req.GetTenantName()}
	if req.GetOwnerSubject() == "" {
		return resp, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Like auth, an owner is bootstrapped once per deployment.
	if s.bootstrapped {
		return nil, status.Error(codes.AlreadyExists, "the deployment is bootstrapped already")
	}
	s.bootstrapped = true
	pt, err := s.newKeyLocked(&authv1.Principal{TenantId: resp.GetTenantId(), Subject: req.GetOwnerSubject(), Roles: []string{"owner"}, Scopes: []string{"admin"}})
	if err != nil {
		return nil, status.Error(codes.Internal, "generate")
	}
	kid, _ := apikey.Parse(pt)
	resp.ApiKey, resp.KeyId = pt, kid.ID
	return resp, nil
}

// RecoverOwner implements AuthService: a new owner key for the subject in
// the tenant, recorded with the caller's identity.
func (s *Server) RecoverOwner(ctx context.Context, req *authv1.RecoverOwnerRequest) (*authv1.RecoverOwnerResponse, error) {
	id, err := mtls.PeerID(ctx)
	if err != nil {
		return nil, status.Error(codes.Unauthenticated, "no peer identity")
	}
	if req.GetTenantId() == "" || req.GetSubject() == "" {
		return nil, status.Error(codes.InvalidArgument, "tenant_id and subject: required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	pt, err := s.newKeyLocked(&authv1.Principal{TenantId: req.GetTenantId(), Subject: req.GetSubject(), Roles: []string{"owner"}})
	if err != nil {
		return nil, status.Error(codes.Internal, "generate")
	}
	s.recovered = append(s.recovered, Recovered{Peer: id.String(), Req: proto.CloneOf(req), Key: pt})
	kid, _ := apikey.Parse(pt)
	return &authv1.RecoverOwnerResponse{TenantId: req.GetTenantId(), Subject: req.GetSubject(), KeyId: kid.ID, ApiKey: pt}, nil
}

// visibleLocked applies auth's visibility rule: same tenant, and the
// caller's own keys (members are not tenant admins here).
func (s *Server) visibleLocked(ctx context.Context, id string) (*key, error) {
	p, ok := principal.FromContext(ctx)
	if !ok {
		return nil, status.Error(codes.Unauthenticated, "missing principal assertion")
	}
	k := s.keys[id]
	if k == nil || k.p.GetTenantId() != p.GetTenantId() || k.p.GetSubject() != p.GetSubject() {
		return nil, status.Errorf(codes.NotFound, "key %s not found", id)
	}
	return k, nil
}

func meta(k *key) *authv1.ApiKey {
	return &authv1.ApiKey{KeyId: k.p.GetKeyId(), Prefix: apikey.Prefix + k.p.GetKeyId(), Subject: k.p.GetSubject(),
		Scopes: k.p.GetScopes(), State: k.state, ReplacedBy: k.replacedBy}
}

// CreateKey implements KeyService: a key in the caller's tenant, for the
// caller's subject and roles, with the requested scopes; only a caller
// holding the admin scope may create one.
func (s *Server) CreateKey(ctx context.Context, r *authv1.CreateKeyRequest) (*authv1.CreateKeyResponse, error) {
	caller, ok := principal.FromContext(ctx)
	if !ok {
		return nil, status.Error(codes.Unauthenticated, "missing principal assertion")
	}
	if !principal.HasScope(caller, "admin") {
		return nil, status.Error(codes.PermissionDenied, "scopes exceed the creating key's own grant")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	pt, err := s.newKeyLocked(&authv1.Principal{TenantId: caller.GetTenantId(), Subject: caller.GetSubject(),
		Roles: caller.GetRoles(), Scopes: r.GetScopes()})
	if err != nil {
		return nil, status.Error(codes.Internal, "generate")
	}
	s.created = append(s.created, Created{Tenant: caller.GetTenantId(), Plaintext: pt})
	m := meta(s.keys[KeyIDOf(pt)])
	m.Name = r.GetName()
	return &authv1.CreateKeyResponse{Key: m, ApiKey: pt}, nil
}

// GetKey implements KeyService.
func (s *Server) GetKey(ctx context.Context, r *authv1.GetKeyRequest) (*authv1.GetKeyResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, err := s.visibleLocked(ctx, r.GetKeyId())
	if err != nil {
		return nil, err
	}
	return &authv1.GetKeyResponse{Key: meta(k)}, nil
}

// RotateKey implements KeyService.
func (s *Server) RotateKey(ctx context.Context, r *authv1.RotateKeyRequest) (*authv1.RotateKeyResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, err := s.visibleLocked(ctx, r.GetKeyId())
	if err != nil {
		return nil, err
	}
	if r.GetOverlapSeconds() < 0 {
		return nil, status.Error(codes.InvalidArgument, "overlap_seconds: must not be negative")
	}
	pt, err := s.rotateLocked(k)
	if err != nil {
		return nil, err
	}
	return &authv1.RotateKeyResponse{Key: meta(s.keys[KeyIDOf(pt)]), ApiKey: pt, Previous: meta(k)}, nil
}

func (s *Server) rotateLocked(k *key) (string, error) {
	if k == nil || k.state != authv1.KeyState_KEY_STATE_ACTIVE {
		return "", status.Error(codes.FailedPrecondition, "only an active key can be rotated")
	}
	pt, err := s.newKeyLocked(k.p)
	if err != nil {
		return "", status.Error(codes.Internal, "generate")
	}
	k.state, k.replacedBy = authv1.KeyState_KEY_STATE_ROTATING, KeyIDOf(pt)
	return pt, nil
}

// KeyIDOf returns the id of a plaintext key this server generated ("" for
// anything else).
func KeyIDOf(plaintext string) string {
	k, err := apikey.Parse(plaintext)
	if err != nil {
		return ""
	}
	return k.ID
}

// GetSigningKeys implements AuthService.
func (s *Server) GetSigningKeys(context.Context, *authv1.GetSigningKeysRequest) (*authv1.GetSigningKeysResponse, error) {
	return &authv1.GetSigningKeysResponse{Keys: []*authv1.SigningKey{{Kid: s.signer.KID(), PublicKey: s.signer.PublicKey()}}}, nil
}
