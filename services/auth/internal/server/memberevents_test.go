package server_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
)

// TestMemberEventsOnTheTenantStream (ADR 0132 §1): removing a member, and
// lowering one to viewer, is told on WatchTenantEvents with her member
// record, so services drop the credentials they hold for her (ingestion:
// her data-source grants); a change that keeps her a writer is not, nor
// is any of it a revocation event.
func TestMemberEventsOnTheTenantStream(t *testing.T) { forEachStore(t, memberEvents) }

func memberEvents(t *testing.T, e *env) {
	tid, owner := e.tenant(t, "acme")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ten := e.watchTenantEvents(ctx, t)
	mc := authv1.NewMemberServiceClient(e.edge)

	e.member(t, owner, "alice@acme", authv1.Role_ROLE_ADMIN, "chat:write")
	alice := memberID(t, e, owner, "alice@acme")
	e.member(t, owner, "bob@acme", authv1.Role_ROLE_MEMBER, "chat:write")
	bob := memberID(t, e, owner, "bob@acme")

	// admin → member keeps her a writer: no member event.
	_, err := mc.UpdateMember(e.as(t, owner), &authv1.UpdateMemberRequest{MemberId: alice, Role: authv1.Role_ROLE_MEMBER})
	require.NoError(t, err)
	// member → viewer: read-only.
	_, err = mc.UpdateMember(e.as(t, owner), &authv1.UpdateMemberRequest{MemberId: alice, Role: authv1.Role_ROLE_VIEWER})
	require.NoError(t, err)
	// viewer → viewer again: nothing new.
	_, err = mc.UpdateMember(e.as(t, owner), &authv1.UpdateMemberRequest{MemberId: alice, Role: authv1.Role_ROLE_VIEWER})
	require.NoError(t, err)
	_, err = mc.DeleteMember(e.as(t, owner), &authv1.DeleteMemberRequest{MemberId: bob})
	require.NoError(t, err)

	var got []*authv1.WatchTenantEventsResponse
	for len(got) < 2 {
		ev, err := ten.Recv()
		require.NoError(t, err)
		if ev.GetKind() == authv1.TenantEventKind_TENANT_EVENT_KIND_CREATED {
			continue
		}
		got = append(got, ev)
	}
	require.Equal(t, authv1.TenantEventKind_TENANT_EVENT_KIND_MEMBER_READ_ONLY, got[0].GetKind())
	require.Equal(t, alice, got[0].GetMemberId())
	require.Equal(t, tid, got[0].GetTenantId())
	require.Equal(t, authv1.TenantEventKind_TENANT_EVENT_KIND_MEMBER_REMOVED, got[1].GetKind())
	require.Equal(t, bob, got[1].GetMemberId())
	require.Equal(t, tid, got[1].GetTenantId())
}
