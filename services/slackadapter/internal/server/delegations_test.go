package server_test

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/rampart-platform/rampart/pkg/permissions"
	"github.com/rampart-platform/rampart/pkg/principal"
)

// TestAdapterKeepsOnlyItsRPCsDelegations (ADR 0112): the adapter itself
// refuses delegations its RPC does not name in the table, whatever the
// edge forwards. Every Slack RPC the edge may call is sent, as a
// compromised or buggy edge could, an admin's delegations for every
// service the adapter forwards to (auth, ingestion, keyvault); inside
// the service's own interceptor chain the handler can then forward the
// principal only to what the table gives that RPC (CallDelegates): auth
// with the install link alone, ingestion and keyvault with the binding
// and policy writes, nothing with the listings, DeleteBinding or the
// principal-less RPCs. On the previous code every one of them could
// present the admin's assertion to auth.
func TestAdapterKeepsOnlyItsRPCsDelegations(t *testing.T) {
	h := start(t, harnessOpts{})
	tab := permissions.Default()
	ctx := h.admin(t, "t_acme")
	sent, _ := metadata.FromOutgoingContext(ctx)
	require.Len(t, sent.Get(principal.DelegatedKey), 3, "the call carries auth's, ingestion's and keyvault's delegations")
	n := 0
	for _, r := range tab.RPCs() {
		if permissions.ServiceOf(r.Name) != permissions.SlackAdapter || !slices.Contains(r.Callers, permissions.Edge) {
			continue
		}
		var want []string
		if r.Principal {
			d, narrowed := tab.CallDelegates(r.Name)
			require.True(t, narrowed, r.Name)
			want = d
		}
		h.received.Delete(r.Name)
		// Any answer will do (an empty request is refused by most): the
		// probe has run before the handler.
		_ = h.raw.Invoke(ctx, r.Name, &emptypb.Empty{}, &emptypb.Empty{})
		got, ok := h.received.Load(r.Name)
		require.True(t, ok, "%s reached the handler's chain", r.Name)
		require.Equal(t, want, got, r.Name)
		n++
	}
	require.GreaterOrEqual(t, n, 9, "every Slack RPC the edge calls")
}
