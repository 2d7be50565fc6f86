package server_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
)

// TestPrincipalCarriesTheMemberRecord: a principal names its subject's
// member record, and the same subject removed and added again is another
// member — what the first authorized (a data-source connection, ADR 0118)
// can tell the two apart.
func TestPrincipalCarriesTheMemberRecord(t *testing.T) { forEachStore(t, principalMemberID) }

func principalMemberID(t *testing.T, e *env) {
	_, owner := e.tenant(t, "acme")
	first := e.member(t, owner, "alice@acme", authv1.Role_ROLE_MEMBER, "chat:write")
	id := memberID(t, e, owner, "alice@acme")
	resp, err := e.verify(t.Context(), first)
	require.NoError(t, err)
	require.Equal(t, id, resp.GetPrincipal().GetMemberId())

	_, err = authv1.NewMemberServiceClient(e.edge).DeleteMember(e.as(t, owner), &authv1.DeleteMemberRequest{MemberId: id})
	require.NoError(t, err)
	again := e.member(t, owner, "alice@acme", authv1.Role_ROLE_MEMBER, "chat:write")
	resp, err = e.verify(t.Context(), again)
	require.NoError(t, err)
	require.Equal(t, "alice@acme", resp.GetPrincipal().GetSubject())
	require.NotEmpty(t, resp.GetPrincipal().GetMemberId())
	require.NotEqual(t, id, resp.GetPrincipal().GetMemberId(), "a subject added again is a new member")
}
