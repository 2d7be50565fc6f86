package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
)

// The edge serves a verified key from its cache for up to 30 s, and an
// assertion lives up to 5 minutes: a management call may arrive with a
// principal minted before the caller was demoted or its key revoked.
// Escalation review 2026-12-06: member management trusted the role and
// scopes in that principal, so a demoted admin could re-promote herself
// with a principal cached before the demotion, and make it permanent.
// Auth now re-reads the calling key, its subject's role and its tenant
// from the store on every management call.

func TestStalePrincipalCannotUndoADemotion(t *testing.T) {
	forEachStore(t, stalePrincipalCannotUndoADemotion)
}

func stalePrincipalCannotUndoADemotion(t *testing.T, e *env) {
	a := e.acme(t)
	owner, mc, kc := a.owner, a.mc, a.kc
	admin := e.member(t, owner, "admin@acme", authv1.Role_ROLE_ADMIN, "admin")
	// Captured before the demotion: what the edge's cache holds.
	stale := e.as(t, admin)
	_, err := kc.GetKey(stale, &authv1.GetKeyRequest{KeyId: owner[3:15]})
	require.Equal(t, codes.NotFound, code(err), "an admin never sees an owner's key")
	adminID := memberID(t, e, owner, "admin@acme")
	_, err = mc.UpdateMember(e.as(t, owner), &authv1.UpdateMemberRequest{MemberId: adminID, Role: authv1.Role_ROLE_MEMBER})
	require.NoError(t, err)

	dev := e.member(t, owner, "dev@acme", authv1.Role_ROLE_MEMBER, "chat:write")
	ownerID := memberID(t, e, owner, "owner@acme")
	for _, tt := range []struct {
		name string
		want codes.Code
		call func() error
	}{
		{"re-promote herself", codes.PermissionDenied, func() error {
			_, err := mc.UpdateMember(stale, &authv1.UpdateMemberRequest{MemberId: adminID, Role: authv1.Role_ROLE_ADMIN})
			return err
		}},
		{"add an admin", codes.PermissionDenied, func() error {
			_, err := mc.CreateMember(stale, &authv1.CreateMemberRequest{Subject: "sock@acme", Role: authv1.Role_ROLE_ADMIN})
			return err
		}},
		{"remove a member", codes.PermissionDenied, func() error {
			_, err := mc.DeleteMember(stale, &authv1.DeleteMemberRequest{MemberId: ownerID})
			return err
		}},
		{"read the tenant's audit", codes.PermissionDenied, func() error {
			_, err := authv1.NewAuditServiceClient(e.edge).ListAuditEvents(stale, &authv1.ListAuditEventsRequest{})
			return err
		}},
		{"read another member's key", codes.NotFound, func() error {
			_, err := kc.GetKey(stale, &authv1.GetKeyRequest{KeyId: dev[3:15]})
			return err
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			require.Equal(t, tt.want, code(err), "a principal minted before the demotion must not act as admin: %v", err)
		})
	}
	m, err := mc.GetMember(e.as(t, owner), &authv1.GetMemberRequest{MemberId: adminID})
	require.NoError(t, err)
	require.Equal(t, authv1.Role_ROLE_MEMBER, m.GetMember().GetRole(), "the demotion holds")

	// A fresh verification carries the new role: the demoted member acts
	// within it (a member manages her own keys).
	_, err = kc.ListKeys(e.as(t, admin), &authv1.ListKeysRequest{})
	require.NoError(t, err)
}

func TestStalePrincipalOfRevokedKeyCannotManage(t *testing.T) {
	forEachStore(t, stalePrincipalOfRevokedKeyCannotManage)
}

func stalePrincipalOfRevokedKeyCannotManage(t *testing.T, e *env) {
	a := e.acme(t)
	tid, owner, mc, kc := a.id, a.owner, a.mc, a.kc
	admin := e.member(t, owner, "admin@acme", authv1.Role_ROLE_ADMIN, "admin")
	stale := e.as(t, admin)
	_, err := kc.RevokeKey(e.as(t, owner), &authv1.RevokeKeyRequest{KeyId: admin[3:15]})
	require.NoError(t, err)

	_, err = mc.CreateMember(stale, &authv1.CreateMemberRequest{Subject: "sock@acme", Role: authv1.Role_ROLE_ADMIN})
	require.Equal(t, codes.Unauthenticated, code(err), "%v", err)
	_, err = kc.CreateKey(stale, &authv1.CreateKeyRequest{Name: "spare", Scopes: []string{"chat:write"}})
	require.Equal(t, codes.Unauthenticated, code(err), "%v", err)
	_, err = authv1.NewTenantServiceClient(e.edge).GetTenant(stale, &authv1.GetTenantRequest{TenantId: tid})
	require.Equal(t, codes.Unauthenticated, code(err), "%v", err)

	// A suspended tenant's principals stop managing at once too.
	other, otherOwner := e.tenant(t, "other")
	staleOther := e.as(t, otherOwner)
	_, err = authv1.NewTenantServiceClient(e.edge).SuspendTenant(e.as(t, e.platformKey), &authv1.SuspendTenantRequest{TenantId: other})
	require.NoError(t, err)
	_, err = mc.CreateMember(staleOther, &authv1.CreateMemberRequest{Subject: "late@other", Role: authv1.Role_ROLE_ADMIN})
	require.Equal(t, codes.Unauthenticated, code(err), "%v", err)
}

// memberID finds the member id of subject, acting as adminKey.
func memberID(t *testing.T, e *env, adminKey, subject string) string {
	t.Helper()
	ms, err := authv1.NewMemberServiceClient(e.edge).ListMembers(e.as(t, adminKey), &authv1.ListMembersRequest{})
	require.NoError(t, err)
	for _, m := range ms.GetMembers() {
		if m.GetSubject() == subject {
			return m.GetMemberId()
		}
	}
	t.Fatalf("no member %q", subject)
	return ""
}

// TestRoleChangeReachesWatchers: changing a member's role tells the edge
// (WatchRevocations) to drop every live key of that subject from its cache,
// so the new role binds at the edge within the revocation latency rather
// than the 30 s cache TTL.
func TestRoleChangeReachesWatchers(t *testing.T) {
	e := newEnv(t)
	_, owner := e.tenant(t, "acme")
	admin := e.member(t, owner, "admin@acme", authv1.Role_ROLE_ADMIN, "admin")
	second := e.ownKey(t, owner, &authv1.CreateKeyRequest{Name: "second", Subject: "admin@acme", Scopes: []string{"chat:write"}})
	_ = e.member(t, owner, "bystander@acme", authv1.Role_ROLE_ADMIN, "admin")
	adminID := memberID(t, e, owner, "admin@acme")

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s := e.watchRevocations(ctx, t, 0)

	mc := authv1.NewMemberServiceClient(e.edge)
	_, err := mc.UpdateMember(e.as(t, owner), &authv1.UpdateMemberRequest{MemberId: adminID, Role: authv1.Role_ROLE_MEMBER})
	require.NoError(t, err)
	got := map[string]authv1.RevocationKind{}
	for len(got) < 2 {
		ev, err := s.Recv()
		require.NoError(t, err)
		got[ev.GetKeyId()] = ev.GetKind()
	}
	require.Equal(t, map[string]authv1.RevocationKind{
		admin[3:15]:  authv1.RevocationKind_REVOCATION_KIND_KEY_CHANGED,
		second[3:15]: authv1.RevocationKind_REVOCATION_KIND_KEY_CHANGED,
	}, got, "exactly the demoted subject's keys")

	// The keys still verify, with the new role.
	resp, err := e.verify(t.Context(), admin)
	require.NoError(t, err)
	require.Equal(t, []string{"member"}, resp.GetPrincipal().GetRoles())
	require.Empty(t, resp.GetPrincipal().GetScopes(), "scope admin is above a member's ceiling")
}

// TestTenantLimitsChangeReachesWatchers: changing a tenant's limits (rate,
// tokens, budget, allowed models) tells every edge to drop the tenant's
// cached keys (TENANT_CHANGED), so narrowed limits bind within the
// revocation latency rather than the 30 s cache TTL (ADR 0072). The keys
// still verify, now carrying the new limits.
func TestTenantLimitsChangeReachesWatchers(t *testing.T) {
	e := newEnv(t)
	tenant, owner := e.tenant(t, "acme")

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	s := e.watchRevocations(ctx, t, 0)

	_, err := authv1.NewTenantServiceClient(e.edge).UpdateTenantLimits(e.as(t, e.platformKey), &authv1.UpdateTenantLimitsRequest{
		TenantId: tenant, Limits: &authv1.TenantLimits{AllowedModels: []string{"small"}, TokensPerMinute: 100}})
	require.NoError(t, err)
	ev, err := s.Recv()
	require.NoError(t, err)
	require.Equal(t, authv1.RevocationKind_REVOCATION_KIND_TENANT_CHANGED, ev.GetKind())
	require.Equal(t, tenant, ev.GetTenantId())
	require.Empty(t, ev.GetKeyId())

	resp, err := e.verify(t.Context(), owner)
	require.NoError(t, err)
	require.Equal(t, []string{"small"}, resp.GetPrincipal().GetTenantAllowedModels())
	require.Equal(t, int64(100), resp.GetPrincipal().GetLimits().GetTenantTokensPerMinute())
}
