package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/permissions"
	"github.com/rampart-platform/rampart/pkg/pki"

	"github.com/rampart-platform/rampart/services/auth/internal/events"
	"github.com/rampart-platform/rampart/services/auth/internal/keys"
	"github.com/rampart-platform/rampart/services/auth/internal/signing"
	"github.com/rampart-platform/rampart/services/auth/internal/store"
)

// Server implements every auth gRPC service.
type Server struct {
	authv1.UnimplementedAuthServiceServer
	authv1.UnimplementedKeyServiceServer
	authv1.UnimplementedTenantServiceServer
	authv1.UnimplementedMemberServiceServer
	authv1.UnimplementedAuditServiceServer

	svc     *keys.Service
	signing *signing.Manager
	db      *store.DB
	hub     *events.Hub
	log     *slog.Logger

	// draining closes when the server starts shutting down (EndStreamsOn).
	draining <-chan struct{}
}

// EndStreamsOn makes the watch streams (WatchRevocations,
// WatchTenantEvents) end with Unavailable once draining is closed — pass
// serve.Server.Draining. They never end on their own and GracefulStop
// waits for every open stream, so without it a replica's shutdown waited
// for its deadline and then cut them; now their clients reconnect to
// another replica at once (ADR 0072).
func (s *Server) EndStreamsOn(draining <-chan struct{}) *Server {
	s.draining = draining
	return s
}

// errDraining ends a watch stream at shutdown; clients reconnect.
var errDraining = fmt.Errorf("auth is shutting down, reconnect: %w", grpcerr.ErrUnavailable)

// watchContext is the stream's context, also ended by the drain; done
// reports the error the stream ends with: errDraining after a drain.
func (s *Server) watchContext(ctx context.Context) (context.Context, func(error) error) {
	ctx, cancel := context.WithCancelCause(ctx)
	if s.draining != nil {
		go func() { // ends with the stream at the latest
			select {
			case <-s.draining:
				cancel(errDraining)
			case <-ctx.Done():
			}
		}()
	}
	return ctx, func(err error) error {
		defer cancel(nil)
		if errors.Is(context.Cause(ctx), errDraining) {
			return errDraining
		}
		return err
	}
}

// New returns the handlers.
func New(svc *keys.Service, sm *signing.Manager, db *store.DB, hub *events.Hub, log *slog.Logger) *Server {
	return &Server{svc: svc, signing: sm, db: db, hub: hub, log: log}
}

// ---- AuthService ----

// VerifyKey implements AuthService.
func (s *Server) VerifyKey(ctx context.Context, req *authv1.VerifyKeyRequest) (*authv1.VerifyKeyResponse, error) {
	src := keys.Source{IP: clip(req.GetSourceIp(), 64), RequestID: requestID(ctx)}
	if src.IP == "" {
		src.IP = sourceIP(ctx)
	}
	if id, err := mtls.PeerID(ctx); err == nil {
		src.Caller = id.String()
	}
	if err := audiencesAllowed(src.Caller, req.GetAudiences()); err != nil {
		return nil, err
	}
	v, err := s.svc.Verify(ctx, req.GetApiKey(), src, req.GetAudiences()...)
	if err != nil {
		return nil, err
	}
	return &authv1.VerifyKeyResponse{Principal: v.Principal, Assertion: v.Assertion, Assertions: v.Assertions, CacheUntil: v.CacheUntil.Unix()}, nil
}

// servicePrefix starts the SPIFFE id of every Rampart service.
var servicePrefix = pki.ServiceID("")

// audiencesAllowed: a caller gets assertions only for the services it
// calls on a principal's behalf and those they forward it to (the
// permission table's Audiences, ADR 0083) — keyvault, which receives every
// secret caller's assertion, gets none for another service but auth (for
// its own keys), so it cannot turn a key it holds into assertions for
// inference either. At least one audience: an assertion for no service is
// refused everywhere.
func audiencesAllowed(caller string, audiences []string) error {
	if len(audiences) == 0 {
		return grpcerr.Invalid("audiences", "name the services the assertions are for")
	}
	if len(audiences) > 8 {
		return grpcerr.Invalid("audiences", "at most 8")
	}
	name, ok := strings.CutPrefix(caller, servicePrefix)
	tab := permissions.Default()
	for _, a := range audiences {
		if !ok || !tab.MayObtain(name, a) {
			return status.Errorf(codes.PermissionDenied, "audiences: this service may not obtain assertions for %q", a)
		}
	}
	return nil
}

// WatchRevocations implements AuthService.
func (s *Server) WatchRevocations(req *authv1.WatchRevocationsRequest, stream authv1.AuthService_WatchRevocationsServer) error {
	if req.GetAfterCursor() < 0 {
		return grpcerr.Invalid("after_cursor", "must not be negative")
	}
	// Headers go out once the start cursor is fixed: a client that has seen
	// them cannot miss a later event.
	ready := func() error { return stream.SendHeader(metadata.MD{}) }
	ctx, done := s.watchContext(stream.Context())
	return done(events.Watch(ctx, s.db, s.hub, req.GetAfterCursor(), ready,
		func(e store.Event) error {
			kind := revocationKind(e.Kind)
			if kind == authv1.RevocationKind_REVOCATION_KIND_UNSPECIFIED {
				return nil
			}
			return stream.Send(&authv1.WatchRevocationsResponse{Cursor: e.Cursor, Kind: kind, KeyId: e.KeyID, TenantId: e.TenantID})
		},
		func(cursor int64) error {
			return stream.Send(&authv1.WatchRevocationsResponse{Cursor: cursor, Kind: authv1.RevocationKind_REVOCATION_KIND_RESYNC})
		}))
}

func revocationKind(k string) authv1.RevocationKind {
	switch k {
	case store.EventKeyRevoked:
		return authv1.RevocationKind_REVOCATION_KIND_KEY_REVOKED
	case store.EventKeyExpired:
		return authv1.RevocationKind_REVOCATION_KIND_KEY_EXPIRED
	case store.EventKeyChanged:
		return authv1.RevocationKind_REVOCATION_KIND_KEY_CHANGED
	case store.EventTenantSuspended, store.EventTenantDeleted, store.EventTenantPurged:
		return authv1.RevocationKind_REVOCATION_KIND_TENANT_SUSPENDED
	case store.EventTenantLimitsChanged:
		return authv1.RevocationKind_REVOCATION_KIND_TENANT_CHANGED
	default:
		return authv1.RevocationKind_REVOCATION_KIND_UNSPECIFIED
	}
}

// WatchTenantEvents implements AuthService.
func (s *Server) WatchTenantEvents(req *authv1.WatchTenantEventsRequest, stream authv1.AuthService_WatchTenantEventsServer) error {
	if req.GetAfterCursor() < 0 {
		return grpcerr.Invalid("after_cursor", "must not be negative")
	}
	ready := func() error { return stream.SendHeader(metadata.MD{}) }
	ctx, done := s.watchContext(stream.Context())
	return done(events.Watch(ctx, s.db, s.hub, req.GetAfterCursor(), ready,
		func(e store.Event) error {
			kind := tenantKind(e.Kind)
			if kind == authv1.TenantEventKind_TENANT_EVENT_KIND_UNSPECIFIED {
				return nil
			}
			ev := &authv1.WatchTenantEventsResponse{Cursor: e.Cursor, Kind: kind, TenantId: e.TenantID, Time: e.At.Unix()}
			if kind == authv1.TenantEventKind_TENANT_EVENT_KIND_MEMBER_REMOVED || kind == authv1.TenantEventKind_TENANT_EVENT_KIND_MEMBER_READ_ONLY {
				ev.MemberId = e.KeyID // a member event's id column holds the member's
			}
			return stream.Send(ev)
		},
		func(cursor int64) error {
			return stream.Send(&authv1.WatchTenantEventsResponse{Cursor: cursor, Kind: authv1.TenantEventKind_TENANT_EVENT_KIND_RESYNC})
		}))
}

func tenantKind(k string) authv1.TenantEventKind {
	switch k {
	case store.EventTenantCreated:
		return authv1.TenantEventKind_TENANT_EVENT_KIND_CREATED
	case store.EventTenantSuspended:
		return authv1.TenantEventKind_TENANT_EVENT_KIND_SUSPENDED
	case store.EventTenantResumed:
		return authv1.TenantEventKind_TENANT_EVENT_KIND_RESUMED
	case store.EventTenantDeleted:
		return authv1.TenantEventKind_TENANT_EVENT_KIND_DELETED
	case store.EventTenantPurged:
		return authv1.TenantEventKind_TENANT_EVENT_KIND_PURGED
	case store.EventMemberRemoved:
		return authv1.TenantEventKind_TENANT_EVENT_KIND_MEMBER_REMOVED
	case store.EventMemberReadOnly:
		return authv1.TenantEventKind_TENANT_EVENT_KIND_MEMBER_READ_ONLY
	default:
		return authv1.TenantEventKind_TENANT_EVENT_KIND_UNSPECIFIED
	}
}

// GetSigningKeys implements AuthService.
func (s *Server) GetSigningKeys(ctx context.Context, _ *authv1.GetSigningKeysRequest) (*authv1.GetSigningKeysResponse, error) {
	ks := s.signing.CurrentPublicKeys(ctx)
	out := &authv1.GetSigningKeysResponse{Keys: make([]*authv1.SigningKey, 0, len(ks))}
	for _, k := range ks {
		out.Keys = append(out.Keys, &authv1.SigningKey{Kid: k.KID, PublicKey: k.PublicKey, NotAfter: k.NotAfter.Unix()})
	}
	return out, nil
}

// GetTenantLimits implements AuthService: no principal (inference asks
// for a background job's tenant); the allow-list admits inference only.
func (s *Server) GetTenantLimits(ctx context.Context, req *authv1.GetTenantLimitsRequest) (*authv1.GetTenantLimitsResponse, error) {
	l, err := s.svc.TenantLimits(ctx, req.GetTenantId())
	if err != nil {
		return nil, err
	}
	return &authv1.GetTenantLimitsResponse{Limits: tenantLimitsPB(l)}, nil
}

// WhoAmI implements AuthService.
func (s *Server) WhoAmI(ctx context.Context, _ *authv1.WhoAmIRequest) (*authv1.WhoAmIResponse, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	roles := []string{}
	if n := keys.RoleName(c.Role); n != "" {
		roles = append(roles, n)
	}
	return &authv1.WhoAmIResponse{TenantId: c.TenantID, KeyId: c.KeyID, Subject: c.Subject, Roles: roles, Scopes: c.Scopes}, nil
}

// BootstrapCaller is the only identity allowed to bootstrap.
var BootstrapCaller = pki.ServiceID("rampart-cli")

// Bootstrap implements AuthService.
func (s *Server) Bootstrap(ctx context.Context, req *authv1.BootstrapRequest) (*authv1.BootstrapResponse, error) {
	id, err := mtls.PeerID(ctx)
	if err != nil || id.String() != BootstrapCaller {
		return nil, grpcerr.ErrPermissionDenied
	}
	out, err := s.svc.Bootstrap(ctx, keys.Caller{Subject: "svc:" + id.String(), RequestID: requestID(ctx), SourceIP: sourceIP(ctx)},
		req.GetTenantName(), req.GetOwnerSubject())
	if err != nil {
		return nil, err
	}
	return &authv1.BootstrapResponse{TenantId: out.Tenant.ID, ApiKey: out.OwnerKey.Plaintext, KeyId: out.OwnerKey.Key.ID}, nil
}

// RecoverOwner implements AuthService. Like Bootstrap it answers only the
// operator CLI identity (the allow-list admits no one else either).
func (s *Server) RecoverOwner(ctx context.Context, req *authv1.RecoverOwnerRequest) (*authv1.RecoverOwnerResponse, error) {
	id, err := mtls.PeerID(ctx)
	if err != nil || id.String() != BootstrapCaller {
		return nil, grpcerr.ErrPermissionDenied
	}
	out, err := s.svc.RecoverOwner(ctx, keys.Caller{Subject: "svc:" + id.String(), RequestID: requestID(ctx), SourceIP: sourceIP(ctx)},
		req.GetTenantId(), req.GetSubject())
	if err != nil {
		return nil, err
	}
	return &authv1.RecoverOwnerResponse{TenantId: req.GetTenantId(), Subject: out.Subject, ApiKey: out.Key.Plaintext, KeyId: out.Key.Key.ID}, nil
}

// ---- KeyService ----

// seconds is a request's count of seconds as a Duration, saturated rather
// than overflowed: a huge value then meets keys' own limit check and its
// message, which states the limit.
func seconds(n int64) time.Duration {
	switch {
	case n > int64(math.MaxInt64/time.Second):
		return math.MaxInt64
	case n < int64(math.MinInt64/time.Second):
		return math.MinInt64
	}
	return time.Duration(n) * time.Second
}

// CreateKey implements KeyService.
func (s *Server) CreateKey(ctx context.Context, req *authv1.CreateKeyRequest) (*authv1.CreateKeyResponse, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := adapterKeyOnly(ctx, req); err != nil {
		return nil, err
	}
	out, err := s.svc.CreateKey(ctx, c, keys.CreateKeyInput{
		Name: req.GetName(), Subject: req.GetSubject(), Scopes: req.GetScopes(), AllowedModels: req.GetAllowedModels(),
		AllowedEndpoints: req.GetAllowedEndpoints(), Limits: limitsFromPB(req.GetLimits()),
		TTL: seconds(req.GetTtlSeconds()),
	})
	if err != nil {
		return nil, err
	}
	return &authv1.CreateKeyResponse{Key: keyPB(out.Key), ApiKey: out.Plaintext}, nil
}

// slackAdapterCaller is the Slack adapter's identity: it creates its
// tenant key on the installing admin's delegation for auth, which it holds
// after any Slack admin route.
var slackAdapterCaller = pki.ServiceID(permissions.SlackAdapter)

// adapterKeyOnly lets the Slack adapter's identity create only the key it
// needs (permissions.SlackAdapterKeyScopes, for the admin's own subject):
// a compromised adapter must not turn an admin's delegation into an
// admin-scoped key whose plaintext it receives (authorization review 7).
func adapterKeyOnly(ctx context.Context, req *authv1.CreateKeyRequest) error {
	id, err := mtls.PeerID(ctx)
	if err != nil {
		return nil //nolint:nilerr // no peer identity: not the adapter (the authorizer admitted the call)
	}
	if id.String() != slackAdapterCaller {
		return nil
	}
	if req.GetSubject() != "" || !slices.Equal(slices.Sorted(slices.Values(req.GetScopes())), slices.Sorted(slices.Values(permissions.SlackAdapterKeyScopes))) {
		return fmt.Errorf("%w: the Slack adapter creates only its tenant key (scopes %s, the caller's subject)",
			grpcerr.ErrPermissionDenied, strings.Join(permissions.SlackAdapterKeyScopes, ", "))
	}
	return nil
}

// GetKey implements KeyService.
func (s *Server) GetKey(ctx context.Context, req *authv1.GetKeyRequest) (*authv1.GetKeyResponse, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	k, err := s.svc.GetKey(ctx, c, req.GetKeyId())
	if err != nil {
		return nil, err
	}
	return &authv1.GetKeyResponse{Key: keyPB(k)}, nil
}

// ListKeys implements KeyService.
func (s *Server) ListKeys(ctx context.Context, req *authv1.ListKeysRequest) (*authv1.ListKeysResponse, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	limit, after, err := page(req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	ks, err := s.svc.ListKeys(ctx, c, after, limit)
	if err != nil {
		return nil, err
	}
	out := &authv1.ListKeysResponse{}
	out.Keys, out.NextPageToken = pageOf(ks, limit, keyPB, func(k store.Key) string { return k.ID })
	return out, nil
}

// RotateKey implements KeyService.
func (s *Server) RotateKey(ctx context.Context, req *authv1.RotateKeyRequest) (*authv1.RotateKeyResponse, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	r, err := s.svc.RotateKey(ctx, c, req.GetKeyId(), seconds(req.GetOverlapSeconds()))
	if err != nil {
		return nil, err
	}
	return &authv1.RotateKeyResponse{Key: keyPB(r.New.Key), ApiKey: r.New.Plaintext, Previous: keyPB(r.Previous)}, nil
}

// RevokeKey implements KeyService.
func (s *Server) RevokeKey(ctx context.Context, req *authv1.RevokeKeyRequest) (*authv1.RevokeKeyResponse, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	k, along, err := s.svc.RevokeKey(ctx, c, req.GetKeyId(), req.GetCascade())
	if err != nil {
		return nil, err
	}
	return &authv1.RevokeKeyResponse{Key: keyPB(k), AlsoRevoked: along}, nil
}

// ---- TenantService ----

// CreateTenant implements TenantService.
func (s *Server) CreateTenant(ctx context.Context, req *authv1.CreateTenantRequest) (*authv1.CreateTenantResponse, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	out, err := s.svc.CreateTenant(ctx, c, req.GetName(), req.GetOwnerSubject())
	if err != nil {
		return nil, err
	}
	resp := &authv1.CreateTenantResponse{Tenant: tenantPB(out.Tenant)}
	if out.OwnerKey != nil {
		resp.OwnerApiKey, resp.OwnerKey = out.OwnerKey.Plaintext, keyPB(out.OwnerKey.Key)
	}
	return resp, nil
}

// GetTenant implements TenantService.
func (s *Server) GetTenant(ctx context.Context, req *authv1.GetTenantRequest) (*authv1.GetTenantResponse, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	t, err := s.svc.GetTenant(ctx, c, req.GetTenantId())
	if err != nil {
		return nil, err
	}
	return &authv1.GetTenantResponse{Tenant: tenantPB(t)}, nil
}

// ListTenants implements TenantService.
func (s *Server) ListTenants(ctx context.Context, req *authv1.ListTenantsRequest) (*authv1.ListTenantsResponse, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	limit, after, err := page(req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	ts, err := s.svc.ListTenants(ctx, c, after, limit)
	if err != nil {
		return nil, err
	}
	out := &authv1.ListTenantsResponse{}
	out.Tenants, out.NextPageToken = pageOf(ts, limit, tenantPB, func(t store.Tenant) string { return t.ID })
	return out, nil
}

// SuspendTenant implements TenantService.
func (s *Server) SuspendTenant(ctx context.Context, req *authv1.SuspendTenantRequest) (*authv1.SuspendTenantResponse, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	t, err := s.svc.SuspendTenant(ctx, c, req.GetTenantId())
	if err != nil {
		return nil, err
	}
	return &authv1.SuspendTenantResponse{Tenant: tenantPB(t)}, nil
}

// ResumeTenant implements TenantService.
func (s *Server) ResumeTenant(ctx context.Context, req *authv1.ResumeTenantRequest) (*authv1.ResumeTenantResponse, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	t, err := s.svc.ResumeTenant(ctx, c, req.GetTenantId())
	if err != nil {
		return nil, err
	}
	return &authv1.ResumeTenantResponse{Tenant: tenantPB(t)}, nil
}

// DeleteTenant implements TenantService.
func (s *Server) DeleteTenant(ctx context.Context, req *authv1.DeleteTenantRequest) (*authv1.DeleteTenantResponse, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	t, err := s.svc.DeleteTenant(ctx, c, req.GetTenantId())
	if err != nil {
		return nil, err
	}
	return &authv1.DeleteTenantResponse{Tenant: tenantPB(t)}, nil
}

// UpdateTenantLimits implements TenantService.
func (s *Server) UpdateTenantLimits(ctx context.Context, req *authv1.UpdateTenantLimitsRequest) (*authv1.UpdateTenantLimitsResponse, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetLimits() == nil {
		return nil, grpcerr.Invalid("limits", "required (send {} to clear every tenant limit)")
	}
	t, err := s.svc.UpdateTenantLimits(ctx, c, req.GetTenantId(), tenantLimitsFromPB(req.GetLimits()))
	if err != nil {
		return nil, err
	}
	return &authv1.UpdateTenantLimitsResponse{Tenant: tenantPB(t)}, nil
}

// ---- MemberService ----

// CreateMember implements MemberService.
func (s *Server) CreateMember(ctx context.Context, req *authv1.CreateMemberRequest) (*authv1.CreateMemberResponse, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	m, err := s.svc.CreateMember(ctx, c, req.GetSubject(), store.MemberKind(req.GetKind()), store.Role(req.GetRole()))
	if err != nil {
		return nil, err
	}
	return &authv1.CreateMemberResponse{Member: memberPB(m)}, nil
}

// GetMember implements MemberService.
func (s *Server) GetMember(ctx context.Context, req *authv1.GetMemberRequest) (*authv1.GetMemberResponse, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	m, err := s.svc.GetMember(ctx, c, req.GetMemberId())
	if err != nil {
		return nil, err
	}
	return &authv1.GetMemberResponse{Member: memberPB(m)}, nil
}

// ListMembers implements MemberService.
func (s *Server) ListMembers(ctx context.Context, req *authv1.ListMembersRequest) (*authv1.ListMembersResponse, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	limit, after, err := page(req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	ms, err := s.svc.ListMembers(ctx, c, after, limit)
	if err != nil {
		return nil, err
	}
	out := &authv1.ListMembersResponse{}
	out.Members, out.NextPageToken = pageOf(ms, limit, memberPB, func(m store.Member) string { return m.ID })
	return out, nil
}

// UpdateMember implements MemberService.
func (s *Server) UpdateMember(ctx context.Context, req *authv1.UpdateMemberRequest) (*authv1.UpdateMemberResponse, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	m, err := s.svc.UpdateMember(ctx, c, req.GetMemberId(), store.Role(req.GetRole()))
	if err != nil {
		return nil, err
	}
	return &authv1.UpdateMemberResponse{Member: memberPB(m)}, nil
}

// DeleteMember implements MemberService.
func (s *Server) DeleteMember(ctx context.Context, req *authv1.DeleteMemberRequest) (*authv1.DeleteMemberResponse, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.svc.DeleteMember(ctx, c, req.GetMemberId()); err != nil {
		return nil, err
	}
	return &authv1.DeleteMemberResponse{}, nil
}

// ---- AuditService ----

// ListAuditEvents implements AuditService.
func (s *Server) ListAuditEvents(ctx context.Context, req *authv1.ListAuditEventsRequest) (*authv1.ListAuditEventsResponse, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	limit, tok, err := page(req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	before, err := seqToken(tok)
	if err != nil {
		return nil, err
	}
	rs, err := s.svc.ListAudit(ctx, c, req.GetTenantId(), req.GetPlatform(), before, limit)
	if err != nil {
		return nil, err
	}
	out := &authv1.ListAuditEventsResponse{Events: make([]*authv1.AuditEvent, 0, len(rs))}
	for _, r := range rs {
		out.Events = append(out.Events, auditPB(r))
	}
	if len(rs) > 0 && rs[len(rs)-1].Seq > 1 {
		out.NextPageToken = nextToken(len(rs), limit, strconv.FormatInt(rs[len(rs)-1].Seq, 10))
	}
	return out, nil
}

// VerifyAuditChain implements AuditService.
func (s *Server) VerifyAuditChain(ctx context.Context, req *authv1.VerifyAuditChainRequest) (*authv1.VerifyAuditChainResponse, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	r, err := s.svc.VerifyAuditChain(ctx, c, req.GetTenantId(), req.GetPlatform())
	if err != nil {
		return nil, err
	}
	return &authv1.VerifyAuditChainResponse{Ok: r.OK, Checked: r.Checked, FirstBadSeq: r.FirstBadSeq, Reason: r.Reason}, nil
}
