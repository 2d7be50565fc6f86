package server_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	ingestionv1 "github.com/rampart-platform/rampart/gen/go/rampart/ingestion/v1"
)

// TestMemberWhoLeftLosesHerConnections (ADR 0132 §1): when auth tells that
// a member was removed (or lowered to viewer), her data-source
// connections' tokens are deleted from keyvault at once and the
// connections with them; a colleague's connection and its tokens stay, the
// documents ingested through hers stay, and a replayed event is harmless.
// Before, the connection stayed dormant with its refresh token in keyvault
// until someone deleted it by hand.
func TestMemberWhoLeftLosesHerConnections(t *testing.T) {
	p := newProvider(t)
	h := newHarness(t, opts{allowPrivate: true})
	c := h.client(t, "edge")
	alice, bob := h.ctxAs(t, "alice", "key-alice-1"), h.ctxAs(t, "bob", "key-bob")
	_, err := c.CreateCollection(alice, &ingestionv1.CreateCollectionRequest{Name: "wiki"})
	require.NoError(t, err)

	connect := func(ctx context.Context, name string) string {
		cr, err := c.CreateConnection(ctx, &ingestionv1.CreateConnectionRequest{
			Name: name, AuthorizationEndpoint: p.URL + "/authorize", TokenEndpoint: p.URL + "/token",
			ClientId: "client-1", ClientSecret: clientSecret, RedirectUri: "https://rampart.example/oauth/callback",
		})
		require.NoError(t, err)
		state, code := p.consent(t, cr.GetAuthorizationUrl())
		_, err = c.CompleteConnection(ctx, &ingestionv1.CompleteConnectionRequest{ConnectionId: cr.GetConnection().GetId(), State: state, Code: code})
		require.NoError(t, err)
		return cr.GetConnection().GetId()
	}
	aliceConn, bobConn := connect(alice, "Alice's wiki"), connect(bob, "Bob's wiki")
	r, err := c.IngestDocument(alice, &ingestionv1.IngestDocumentRequest{
		Collection: "wiki", Input: &ingestionv1.IngestDocumentRequest_Url{Url: p.URL + "/doc"}, ConnectionId: aliceConn,
	})
	require.NoError(t, err)
	require.Equal(t, ingestionv1.JobState_JOB_STATE_SUCCEEDED, h.wait(t, r.GetJob().GetId()))

	tokens := func(conn string) bool {
		for _, n := range h.kv.Names() {
			if strings.HasSuffix(n, "/ingestion/oauth/"+conn) {
				return true
			}
		}
		return false
	}
	require.True(t, tokens(aliceConn))
	require.True(t, tokens(bobConn))

	for range 2 { // the second is a replayed event: nothing left to do
		require.NoError(t, h.app.Service.MemberLeft(t.Context(), "tenant-a", "m-alice", false))
	}
	require.False(t, tokens(aliceConn), "her tokens are gone from keyvault")
	require.True(t, tokens(bobConn), "a colleague's stay")
	list, err := c.ListConnections(bob, &ingestionv1.ListConnectionsRequest{})
	require.NoError(t, err)
	require.Len(t, list.GetConnections(), 1)
	require.Equal(t, bobConn, list.GetConnections()[0].GetId())
	_, err = c.GetDocument(bob, &ingestionv1.GetDocumentRequest{DocumentId: r.GetJob().GetDocumentId()})
	require.NoError(t, err, "what was ingested through her grant stays the tenant's")

	// Another tenant's member of the same id is not this one.
	require.NoError(t, h.app.Service.MemberLeft(t.Context(), "tenant-b", "m-bob", true))
	require.True(t, tokens(bobConn))
	// A keyvault that refuses the call for good (older than the call):
	// the connection stays listed for a member to delete by hand and the
	// event is not retried forever (purges behind it would wait); one
	// that is unavailable is retried.
	name := ""
	for _, n := range h.kv.Names() {
		if strings.HasSuffix(n, "/ingestion/oauth/"+bobConn) {
			_, name, _ = strings.Cut(n, "\x00")
		}
	}
	h.kv.Fail(name, codes.Unavailable)
	require.Error(t, h.app.Service.MemberLeft(t.Context(), "tenant-a", "m-bob", true), "retried later")
	h.kv.Fail(name, codes.Unimplemented)
	require.NoError(t, h.app.Service.MemberLeft(t.Context(), "tenant-a", "m-bob", true))
	require.True(t, tokens(bobConn))
	list, err = c.ListConnections(bob, &ingestionv1.ListConnectionsRequest{})
	require.NoError(t, err)
	require.Len(t, list.GetConnections(), 1, "kept, listed, for a member to delete")
	require.Contains(t, h.logs.String(), "delete it by hand")

	// Lowered to viewer: the same as a removal.
	h.kv.Fail(name, codes.OK)
	require.NoError(t, h.app.Service.MemberLeft(t.Context(), "tenant-a", "m-bob", true))
	require.False(t, tokens(bobConn))
}
