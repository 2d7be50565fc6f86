package permissions_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/permissions"
)

func TestMatch(t *testing.T) {
	tbl := permissions.Default()
	tests := []struct {
		method, path string
		want         string // route key; "" for none
		known        bool   // the path exists for another method
	}{
		{"GET", "/healthz", "GET /healthz", true},
		{"POST", "/healthz", "", true},
		{"POST", "/slack/events", "* /slack/*", true},
		{"GET", "/slack/oauth/callback", "* /slack/*", true},
		{"GET", "/slack", "", false},
		{"GET", "/v1/keys", "GET /v1/keys", true},
		{"POST", "/v1/keys", "POST /v1/keys", true},
		{"GET", "/v1/keys/AbC123", "GET /v1/keys/{key_id}", true},
		{"POST", "/v1/keys/AbC123:rotate", "POST /v1/keys/{key_id}:rotate", true},
		{"POST", "/v1/keys/AbC123:revoke", "POST /v1/keys/{key_id}:revoke", true},
		{"POST", "/v1/keys/AbC123:destroy", "", true}, // GET /v1/keys/{key_id} sees "AbC123:destroy"
		{"GET", "/v1/keys/", "", false},
		{"GET", "/v1/keys/a/b", "", false},
		{"DELETE", "/v1/whoami", "", true},
		{"GET", "/v1/audit:verify", "GET /v1/audit:verify", true},
		{"GET", "/v1/secrets", "GET /v1/secrets", true},
		{"GET", "/v1/secrets/dev/app/db", "GET /v1/secrets/{name=**}", true},
		{"GET", "/v1/secrets/dev/app/db:value", "GET /v1/secrets/{name=**}:value", true},
		{"GET", "/v1/secrets/dev/app/db:versions", "GET /v1/secrets/{name=**}:versions", true},
		{"POST", "/v1/secrets:batchGet", "POST /v1/secrets:batchGet", true},
		{"POST", "/v1/secrets/dev/x:rotate", "POST /v1/secrets/{name=**}:rotate", true},
		{"PATCH", "/v1/secrets/dev/x", "PATCH /v1/secrets/{name=**}", true},
		{"POST", "/v1/secrets/dev/x", "", true},
		{"DELETE", "/v1/secrets/dev/x", "DELETE /v1/secrets/{name=**}", true},
		{"POST", "/v1/kms/key:rotate", "POST /v1/kms/key:rotate", true},
		{"GET", "/v1/models", "GET /v1/models", true},
		{"GET", "/v1/models/echo", "GET /v1/models/{id=**}", true},
		{"GET", "/v1/models/org/model-1", "GET /v1/models/{id=**}", true},
		{"POST", "/v1/chat/completions", "POST /v1/chat/completions", true},
		{"GET", "/v1/chat/completions", "", true},
		{"POST", "/v1/collections/docs/documents", "POST /v1/collections/{collection}/documents", true},
		{"GET", "/v1/collections/docs/documents", "GET /v1/collections/{collection}/documents", true},
		{"GET", "/v1/collections//documents", "", false},
		{"GET", "/v1/usage/logs", "GET /v1/usage/logs", true},
		{"GET", "/v1/usage/logs/req-1", "GET /v1/usage/logs/{request_id}", true},
		{"POST", "/v1/ingest/connections/c1:complete", "POST /v1/ingest/connections/{connection_id}:complete", true},
		{"GET", "/api/observability/secrets", "GET /api/observability/secrets", true},
		{"GET", "/v1/nope", "", false},
		{"GET", "/", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r, known := tbl.Match(tt.method, tt.path)
			if tt.want == "" {
				require.Nil(t, r)
			} else {
				require.NotNil(t, r)
				require.Equal(t, tt.want, r.Key())
			}
			require.Equal(t, tt.known, known)
		})
	}
}

func TestNewRejectsBadTables(t *testing.T) {
	rpc := permissions.RPC{Name: "/rampart.x.v1.S/M", Callers: []string{"edge"}}
	ok := permissions.Route{Method: "GET", Pattern: "/v1/x", RPC: rpc.Name, MinRole: permissions.RoleViewer,
		Tenant: permissions.BindTenant, Rate: permissions.RateRequests, MaxBody: 1}
	_, err := permissions.New([]permissions.Route{ok}, []permissions.RPC{rpc})
	require.NoError(t, err)

	mod := func(f func(*permissions.Route)) permissions.Route { r := ok; f(&r); return r }
	tests := []struct {
		name   string
		routes []permissions.Route
		rpcs   []permissions.RPC
	}{
		{"duplicate route", []permissions.Route{ok, ok}, []permissions.RPC{rpc}},
		{"duplicate rpc", []permissions.Route{ok}, []permissions.RPC{rpc, rpc}},
		{"unknown rpc", []permissions.Route{ok}, nil},
		{"no role", []permissions.Route{mod(func(r *permissions.Route) { r.MinRole = permissions.RoleNone })}, []permissions.RPC{rpc}},
		{"no body limit", []permissions.Route{mod(func(r *permissions.Route) { r.MaxBody = 0 })}, []permissions.RPC{rpc}},
		{"bad pattern", []permissions.Route{mod(func(r *permissions.Route) { r.Pattern = "/v1/{a=**}/b" })}, []permissions.RPC{rpc}},
		{"relative pattern", []permissions.Route{mod(func(r *permissions.Route) { r.Pattern = "v1/x" })}, []permissions.RPC{rpc}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := permissions.New(tt.routes, tt.rpcs)
			require.Error(t, err)
		})
	}
}

func TestAllows(t *testing.T) {
	tbl := permissions.Default()
	logs, _ := tbl.Match("GET", "/v1/usage/logs")
	require.NotNil(t, logs)
	tests := []struct {
		name   string
		role   permissions.Role
		scopes []string
		want   bool
	}{
		{"owner without usage:read", permissions.RoleOwner, []string{"chat:write"}, false},
		{"owner with usage:read", permissions.RoleOwner, []string{"usage:read"}, true},
		{"owner with admin scope", permissions.RoleOwner, []string{"admin"}, true},
		{"member with usage:read", permissions.RoleMember, []string{"usage:read"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, logs.Allows(tt.role, tt.scopes))
		})
	}
	require.Equal(t, "usage:read", logs.MissingScope([]string{"chat:write"}))
	require.Empty(t, logs.MissingScope([]string{"admin"}))
}

// TestPathRoundTrip: every route's filled template matches that route.
func TestPathRoundTrip(t *testing.T) {
	tbl := permissions.Default()
	for _, r := range tbl.Routes() {
		params := map[string]string{}
		for _, p := range r.Params() {
			params[p] = "p1"
		}
		if r.Pattern == "/v1/secrets/{name=**}" || r.Pattern == "/v1/models/{id=**}" {
			params["name"], params["id"] = "dev/app/db", "org/model"
		}
		m := r.Method
		if m == "" {
			m = "POST"
		}
		got, _ := tbl.Match(m, r.Path(params))
		require.NotNil(t, got, r.Key())
		require.Equal(t, r.Key(), got.Key(), r.Path(params))
	}
	route, _ := tbl.Match("GET", "/v1/secrets/a:value")
	require.Equal(t, []string{"name"}, route.Params())
	require.Equal(t, "/v1/secrets/prod/db:value", route.Path(map[string]string{"name": "prod/db"}))
}
