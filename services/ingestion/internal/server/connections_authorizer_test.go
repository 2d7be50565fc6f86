package server_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	ingestionv1 "github.com/rampart-platform/rampart/gen/go/rampart/ingestion/v1"
	"github.com/rampart-platform/rampart/pkg/principal"
)

// ctxAs is a call of tenant-a by key keyID of subject, member record
// "m-"+subject.
func (h *harness) ctxAs(t *testing.T, subject, keyID string) context.Context {
	t.Helper()
	return h.ctxAsMember(t, subject, "m-"+subject, keyID)
}

// ctxAsMember is ctxAs with the member record named.
func (h *harness) ctxAsMember(t *testing.T, subject, member, keyID string) context.Context {
	t.Helper()
	tok, err := h.Signer.Sign(&authv1.Principal{TenantId: "tenant-a", Subject: subject, MemberId: member, KeyId: keyID,
		Roles: []string{"member"}, Scopes: []string{"ingest:read", "ingest:write"}}, time.Time{})
	require.NoError(t, err)
	return principal.AppendToOutgoing(context.Background(), tok)
}

// TestConnectionIsItsAuthorizers: a data-source connection records who
// authorized it, and its grant is used only on that member's behalf (ADR
// 0118). Before, any member with ingest:write could complete another's
// pending connection and ingest through another's connected one — reading,
// through Rampart, whatever her grant reaches on its resource hosts.
func TestConnectionIsItsAuthorizers(t *testing.T) {
	p := newProvider(t)
	h := newHarness(t, opts{allowPrivate: true})
	c := h.client(t, "edge")
	alice, aliceOther, bob := h.ctxAs(t, "alice", "key-alice-1"), h.ctxAs(t, "alice", "key-alice-2"), h.ctxAs(t, "bob", "key-bob")
	_, err := c.CreateCollection(alice, &ingestionv1.CreateCollectionRequest{Name: "wiki"})
	require.NoError(t, err)

	cr, err := c.CreateConnection(alice, &ingestionv1.CreateConnectionRequest{
		Name: "Alice's wiki", AuthorizationEndpoint: p.URL + "/authorize", TokenEndpoint: p.URL + "/token",
		ClientId: "client-1", ClientSecret: clientSecret, RedirectUri: "https://rampart.example/oauth/callback",
	})
	require.NoError(t, err)
	conn := cr.GetConnection().GetId()
	require.Equal(t, "key:key-alice-1/alice", cr.GetConnection().GetCreatedBy(), "the authorizer is the verified principal")
	state, code := p.consent(t, cr.GetAuthorizationUrl())

	// Another member, even with the state and the code, does not complete
	// it, and her attempt spends nothing: the authorizer still can.
	_, err = c.CompleteConnection(bob, &ingestionv1.CompleteConnectionRequest{ConnectionId: conn, State: state, Code: code})
	requireCode(t, err, codes.PermissionDenied, "connection_id", "member who connected it")
	done, err := c.CompleteConnection(alice, &ingestionv1.CompleteConnectionRequest{ConnectionId: conn, State: state, Code: code})
	require.NoError(t, err)
	require.Equal(t, "key:key-alice-1/alice", done.GetConnection().GetCreatedBy())

	ingest := func(ctx context.Context) (*ingestionv1.IngestDocumentResponse, error) {
		return c.IngestDocument(ctx, &ingestionv1.IngestDocumentRequest{
			Collection: "wiki", Input: &ingestionv1.IngestDocumentRequest_Url{Url: p.URL + "/doc"}, ConnectionId: conn,
		})
	}
	_, err = ingest(bob)
	requireCode(t, err, codes.PermissionDenied, "connection_id", "only that member's keys")
	for _, ctx := range []context.Context{alice, aliceOther} {
		r, err := ingest(ctx)
		require.NoError(t, err, "any key of the authorizer's subject (a rotation, a second key) uses her grant")
		if !r.GetDeduplicated() {
			require.Equal(t, ingestionv1.JobState_JOB_STATE_SUCCEEDED, h.wait(t, r.GetJob().GetId()))
		}
	}
	// The same subject removed and added again is another member: it does
	// not inherit the grant the first one gave.
	_, err = ingest(h.ctxAsMember(t, "alice", "m-alice-again", "key-alice-3"))
	requireCode(t, err, codes.PermissionDenied, "connection_id")
	list, err := c.ListConnections(bob, &ingestionv1.ListConnectionsRequest{})
	require.NoError(t, err)
	require.Len(t, list.GetConnections(), 1)
	require.Equal(t, "key:key-alice-1/alice", list.GetConnections()[0].GetCreatedBy(), "listed with its authorizer")

	// A connection from before authorizers were recorded has none: nobody
	// uses it until it is connected again (default deny).
	h.shutdown()
	db, err := sql.Open("sqlite", filepath.Join(h.dataDir, "ingestion.db"))
	require.NoError(t, err)
	_, err = db.ExecContext(t.Context(), `UPDATE connections SET created_by_key = '', created_by_subject = '', created_by_member = ''`)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	h.start(t, opts{allowPrivate: true})
	c = h.client(t, "edge")
	_, err = ingest(alice)
	requireCode(t, err, codes.FailedPrecondition, "connection_id", "connect the data source again")
	list, err = c.ListConnections(alice, &ingestionv1.ListConnectionsRequest{})
	require.NoError(t, err)
	require.Empty(t, list.GetConnections()[0].GetCreatedBy())
	_, err = c.DeleteConnection(alice, &ingestionv1.DeleteConnectionRequest{ConnectionId: conn})
	require.NoError(t, err, "deleting stays open to the tenant's members")
}
