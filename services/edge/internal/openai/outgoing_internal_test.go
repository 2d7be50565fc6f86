package openai

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/metadata"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/principal"
	"github.com/rampart-platform/rampart/services/edge/internal/reqstate"
)

// TestOutgoingReadyMetadata (ADR 0121): a call sent with the key's ready
// metadata carries what the appended pairs carried (assertion, delegations
// in order, nothing else); a context that already carries outgoing
// metadata keeps it (the pairs are appended as before), and a request id
// to send goes along either way.
func TestOutgoingReadyMetadata(t *testing.T) {
	f := principal.Forwardings(map[string]string{"inference": "INF", "ingestion": "ING", "keyvault": "KV"},
		func(aud string) []string {
			if aud == "inference" {
				return []string{"ingestion", "keyvault"}
			}
			return nil
		})["inference"]
	require.NotNil(t, f.MD)
	h := &Handler{}
	sent := func(base context.Context, ready bool, id string) metadata.MD {
		r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil).WithContext(base)
		st, r := reqstate.Ensure(r)
		st.Principal, st.Assertion, st.Delegated = &authv1.Principal{TenantId: "t1"}, f.Assertion, f.Delegated
		if ready {
			st.Outgoing = f.MD
		}
		ctx, ok := h.outgoingWith(httptest.NewRecorder(), r, id)
		require.True(t, ok)
		md, _ := metadata.FromOutgoingContext(ctx)
		return md
	}
	want := metadata.MD{principal.MetadataKey: {"INF"}, principal.DelegatedKey: {"ingestion=ING", "keyvault=KV"}}
	require.Equal(t, want, sent(context.Background(), false, ""), "the pairs")
	require.Equal(t, want, sent(context.Background(), true, ""), "the ready metadata")

	withID := metadata.Join(want, metadata.Pairs("x-request-id", "r1"))
	require.Equal(t, withID, sent(context.Background(), true, "r1"))

	base := metadata.AppendToOutgoingContext(context.Background(), "x-other", "v")
	withOther := metadata.Join(want, metadata.Pairs("x-other", "v"))
	require.Equal(t, withOther, sent(base, true, ""), "what the context carried stays")
	require.Equal(t, withOther, sent(base, false, ""))
	require.Equal(t, []string{"ingestion=ING", "keyvault=KV"}, f.MD[principal.DelegatedKey], "the shared metadata is unchanged")
}
