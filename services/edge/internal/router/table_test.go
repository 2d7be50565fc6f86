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

// TestDirectRoutesAnswerAsTheMux: the literal OpenAI routes the router
// answers directly (openai.Literal) get the same answer as through the
// ServeMux and the gateway mux, for good, bad and streaming bodies, and an
// escaped spelling of their path still goes through the muxes.
func TestDirectRoutesAnswerAsTheMux(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	serve := func(direct bool) *httptest.Server {
		gw := gateway.NewMux(log)
		require.NoError(t, gateway.Register(t.Context(), gw, gateway.Conns{}))
		oai := openai.New(openai.Options{Inference: gateway.OrUnavailable(nil, "inference"), Log: log})
		require.NoError(t, openai.Register(gw, oai))
		o := router.Options{Log: log, Gateway: gw, OpenAPI: []byte(`{}`)}
		if direct {
			o.Direct = openai.Literal(oai)
			require.NotEmpty(t, o.Direct)
		}
		srv := httptest.NewServer(router.New(o))
		t.Cleanup(srv.Close)
		return srv
	}
	viaMux, viaDirect := serve(false), serve(true)
	do := func(srv *httptest.Server, method, path, body string) (int, http.Header, string) {
		req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		raw, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		h := resp.Header.Clone()
		h.Del("Date")
		h.Del("X-Request-Id")
		return resp.StatusCode, h, strings.ReplaceAll(string(raw), resp.Header.Get("X-Request-Id"), "<id>")
	}
	var paths []string
	for l := range openai.Literal(openai.New(openai.Options{})) {
		require.Equal(t, http.MethodPost, l.Method)
		paths = append(paths, l.Path)
	}
	for _, path := range append(paths, "/v1/chat%2Fcompletions", "/v1/chat/completions/", "/v1//chat/completions") {
		for _, body := range []string{`{"model":"m","messages":[{"role":"user","content":"hi"}]}`, `{"stream":true}`, `{"stream":1}`, `[]`, `{`, ""} {
			for _, method := range []string{http.MethodPost, http.MethodGet} {
				ms, mh, mb := do(viaMux, method, path, body)
				ds, dh, db := do(viaDirect, method, path, body)
				require.Equal(t, ms, ds, "%s %s %s", method, path, body)
				require.Equal(t, mh, dh, "%s %s %s", method, path, body)
				require.Equal(t, mb, db, "%s %s %s", method, path, body)
			}
		}
	}
}

// TestDirectRoutesSkipTheMuxes: a Direct route is answered by its handler
// even when the gateway mux does not know it; anything else (another
// method, an escaped path) still reaches the gateway.
func TestDirectRoutesSkipTheMuxes(t *testing.T) {
	gw := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h := router.New(router.Options{Gateway: gw, Direct: map[router.Literal]http.Handler{
		{Method: http.MethodPost, Path: "/v1/chat/completions"}: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusAccepted) }),
	}})
	for _, tt := range []struct {
		method, path string
		want         int
	}{
		{http.MethodPost, "/v1/chat/completions", http.StatusAccepted},
		{http.MethodGet, "/v1/chat/completions", http.StatusTeapot},
		{http.MethodPost, "/v1/chat%2Fcompletions", http.StatusTeapot},
		{http.MethodPost, "/v1/chat/completions/", http.StatusTeapot},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), tt.method, tt.path, strings.NewReader(`{}`)))
		require.Equal(t, tt.want, rec.Code, "%s %s", tt.method, tt.path)
	}
}
