package router_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/permissions"
	"github.com/rampart-platform/rampart/services/edge/internal/authn"
	"github.com/rampart-platform/rampart/services/edge/internal/gateway"
	"github.com/rampart-platform/rampart/services/edge/internal/openai"
	"github.com/rampart-platform/rampart/services/edge/internal/router"
)

// TestEveryTableRouteIsServed: every route of the permission table reaches
// a handler of the real edge mux (grpc-gateway and the OpenAI routes), so
// the table names no route the edge does not serve. The backends are absent
// (503): what matters is that neither the mux (404/405) nor the policy
// refuses the request.
func TestEveryTableRouteIsServed(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	gw := gateway.NewMux(log)
	require.NoError(t, gateway.Register(t.Context(), gw, gateway.Conns{}))
	require.NoError(t, openai.Register(gw, openai.New(openai.Options{Inference: gateway.OrUnavailable(nil, "inference"), Log: log})))
	var slack int
	h := router.New(router.Options{Log: log, Gateway: gw, OpenAPI: []byte(`{}`),
		Slack: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { slack++; w.WriteHeader(http.StatusAccepted) })})
	// Without an authenticator the chain skips authentication; this test is
	// about the mux, the middleware test is about the rules.
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	for _, r := range permissions.Default().Routes() {
		t.Run(r.Key(), func(t *testing.T) {
			params := map[string]string{}
			for _, p := range r.Params() {
				params[p] = "p1"
			}
			method := r.Method
			if method == "" {
				method = http.MethodPost
			}
			var body io.Reader
			if method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch {
				body = strings.NewReader(`{}`)
			}
			req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+r.Path(params), body)
			require.NoError(t, err)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			raw, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			require.NotContains(t, []int{http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusNotImplemented}, resp.StatusCode,
				"%s %s: %s", method, r.Path(params), raw)
		})
	}
	require.Equal(t, 1, slack)
}

// TestPolicyDefaultsToTheTable: router.New without a policy uses the table.
func TestPolicyDefaultsToTheTable(t *testing.T) {
	route, _ := authn.NewPolicy(nil).Match(http.MethodGet, "/v1/usage/logs")
	require.NotNil(t, route)
	require.Equal(t, []string{permissions.ScopeUsageRead}, route.Scopes)
}
