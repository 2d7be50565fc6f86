package gateway

import (
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/principal"
	"github.com/rampart-platform/rampart/services/edge/internal/reqstate"
)

// TestMetadataCarriesDelegations (ADR 0083): a gateway call carries the
// route's backend's assertion and each delegation authentication chose for
// it, all of them under the one delegation key; a route without
// delegations sends none.
func TestMetadataCarriesDelegations(t *testing.T) {
	for _, tt := range []struct {
		name      string
		delegated []string
	}{
		{"slack adapter: auth and ingestion", []string{"auth=A", "ingestion=I"}},
		{"keyvault: none", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st, r := reqstate.Ensure(httptest.NewRequest("GET", "/v1/slack/bindings", nil))
			st.Principal, st.Assertion, st.Delegated = &authv1.Principal{TenantId: "t1"}, "MINE", tt.delegated
			md := Metadata(r.Context(), r)
			require.Equal(t, []string{"MINE"}, md.Get(principal.MetadataKey))
			require.Equal(t, tt.delegated, md.Get(principal.DelegatedKey))
		})
	}
}
