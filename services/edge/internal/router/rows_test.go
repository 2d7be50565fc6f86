package router_test

import (
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/permissions"
	"github.com/rampart-platform/rampart/services/edge/internal/gateway"
	"github.com/rampart-platform/rampart/services/edge/internal/openai"
	"github.com/rampart-platform/rampart/services/edge/internal/router"
)

// TestEveryServedRouteHasARow (ADR 0124): every route the edge serves —
// each pattern of the gateway mux (the proto's google.api.http bindings and
// the OpenAI routes, enumerated from the real mux), each literal the router
// answers directly and each route of the edge's own ServeMux — is a route
// of the permission table, as a resolved row. The table is what
// authentication, body limits, rate limiting and forwarding read, and a
// route that is not in it is refused (authn's TestUnresolvedRouteRefused),
// so a handler added without its row fails here rather than at a caller.
// TestEveryTableRouteIsServed is the other direction.
func TestEveryServedRouteHasARow(t *testing.T) {
	tab := permissions.Default()
	keys := map[string]bool{}
	for _, r := range tab.Routes() {
		keys[r.Key()] = true
	}
	log := slog.New(slog.DiscardHandler)
	gw := gateway.NewMux(log)
	require.NoError(t, gateway.Register(t.Context(), gw, gateway.Conns{}))
	h := openai.New(openai.Options{Inference: gateway.OrUnavailable(nil, "inference"), Log: log})
	require.NoError(t, openai.Register(gw, h))

	served := gatewayRoutes(t, gw)
	require.Greater(t, len(served), 50, "the gateway mux was enumerated")
	for _, key := range served {
		require.True(t, keys[key], "the gateway serves %s, which has no row in the permission table (pkg/permissions/table.go)", key)
	}
	for l := range openai.Literal(h) {
		route, _ := tab.Match(l.Method, l.Path)
		require.NotNil(t, route, "the router answers %s %s directly, which has no row", l.Method, l.Path)
		require.Equal(t, l.Path, route.Pattern, "%s %s is answered as its own row", l.Method, l.Path)
	}
	for _, pattern := range router.OwnPatterns() {
		method, path, ok := strings.Cut(pattern, " ")
		if !ok {
			method, path = "", pattern
		}
		probe := path
		if strings.HasSuffix(path, "/") {
			probe += "events" // a subtree: any path below it
		}
		for _, m := range methodsOf(method) {
			route, _ := tab.Match(m, probe)
			require.NotNil(t, route, "the edge serves %s (%s %s), which has no row", pattern, m, probe)
			require.True(t, route.Resolved(), pattern)
			require.True(t, strings.HasPrefix(route.Pattern, strings.TrimSuffix(path, "/")), "%s matched %s", pattern, route.Key())
		}
	}
}

// methodsOf is method, or for a pattern of any method the common ones.
func methodsOf(method string) []string {
	if method != "" {
		return []string{method}
	}
	return []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete}
}

// gatewayRoutes lists the "METHOD pattern" of every handler of mux.
// grpc-gateway keeps them unexported (ServeMux.handlers: method → handlers,
// each with its Pattern) and offers no listing, so the test reads them by
// reflection; a grpc-gateway upgrade that renames the fields fails here
// loudly, not silently.
func gatewayRoutes(t *testing.T, mux *runtime.ServeMux) []string {
	t.Helper()
	handlers := reflect.ValueOf(mux).Elem().FieldByName("handlers")
	require.True(t, handlers.IsValid(), "runtime.ServeMux has no handlers field any more")
	require.Equal(t, reflect.Map, handlers.Kind())
	var out []string
	iter := handlers.MapRange()
	for iter.Next() {
		method := iter.Key().String()
		list := iter.Value()
		for i := range list.Len() {
			pat := list.Index(i).FieldByName("pat")
			require.True(t, pat.IsValid(), "grpc-gateway's handler has no pat field any more")
			p, ok := reflect.NewAt(pat.Type(), unsafe.Pointer(pat.UnsafeAddr())).Elem().Interface().(runtime.Pattern)
			require.True(t, ok, "grpc-gateway's handler pattern is not a runtime.Pattern any more")
			// String writes a one-segment variable {x} as {x=*}, the
			// table as written in the proto.
			out = append(out, method+" "+strings.ReplaceAll(p.String(), "=*}", "}"))
		}
	}
	return out
}
