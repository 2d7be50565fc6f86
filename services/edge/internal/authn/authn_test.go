package authn_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/metadata"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/apikey"
	"github.com/rampart-platform/rampart/pkg/authtest"
	pkgbackend "github.com/rampart-platform/rampart/pkg/backend"
	"github.com/rampart-platform/rampart/pkg/latency"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/permissions"
	"github.com/rampart-platform/rampart/pkg/pki/pkitest"
	"github.com/rampart-platform/rampart/pkg/principal"
	"github.com/rampart-platform/rampart/services/edge/internal/authn"
	"github.com/rampart-platform/rampart/services/edge/internal/backend"
	"github.com/rampart-platform/rampart/services/edge/internal/reqstate"
)

func newAuthn(t testing.TB, o authn.Options) (*authn.Authenticator, *authtest.Server) {
	t.Helper()
	dir, _ := pkitest.NewDir(t, "auth", "edge")
	srv := authtest.Start(t, dir)
	src, err := mtls.NewSource(mtls.FilesFor(dir, "edge"))
	require.NoError(t, err)
	set, err := backend.Dial(t.Context(), &pkgbackend.Dialer{TLS: src}, []backend.Target{{Name: "auth", Addr: srv.Addr}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = set.Close() })
	o.Client = authv1.NewAuthServiceClient(set.Conn("auth"))
	a, err := authn.New(o)
	require.NoError(t, err)
	return a, srv
}

func TestAuthenticateErrors(t *testing.T) {
	a, srv := newAuthn(t, authn.Options{})
	key := srv.AddKey(t, &authv1.Principal{TenantId: "t1"})
	tests := []struct {
		name    string
		key     string
		wantErr error
	}{
		{"empty", "", authn.ErrMissingKey},
		{"garbage", "hello", authn.ErrMalformedKey},
		{"truncated", key[:len(key)-1], authn.ErrMalformedKey},
		{"valid", key, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := a.Authenticate(t.Context(), tt.key, "127.0.0.1")
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, "t1", id.Principal.GetTenantId())
			p, err := srv.Verifier.Verify(id.Assertion)
			require.NoError(t, err)
			require.Equal(t, "t1", p.GetTenantId())
		})
	}
	require.EqualValues(t, 1, srv.VerifyCalls.Load(), "only the well-formed key reached auth")
}

func TestSingleflight(t *testing.T) {
	a, srv := newAuthn(t, authn.Options{})
	key := srv.AddKey(t, &authv1.Principal{TenantId: "t1"})
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := a.Authenticate(context.Background(), key, "")
			require.NoError(t, err)
		}()
	}
	wg.Wait()
	require.LessOrEqual(t, srv.VerifyCalls.Load(), int64(32))
	calls := srv.VerifyCalls.Load()
	_, err := a.Authenticate(t.Context(), key, "")
	require.NoError(t, err)
	require.Equal(t, calls, srv.VerifyCalls.Load(), "cached afterwards")
}

func TestCacheHonoursAuthCacheUntil(t *testing.T) {
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	a, srv := newAuthn(t, authn.Options{Now: clock, DegradedTTL: 30 * time.Second})
	key := srv.AddKey(t, &authv1.Principal{TenantId: "t1"})
	srv.CacheUntil.Store(now.Unix() + 5)
	_, err := a.Authenticate(t.Context(), key, "")
	require.NoError(t, err)
	_, err = a.Authenticate(t.Context(), key, "")
	require.NoError(t, err)
	require.EqualValues(t, 1, srv.VerifyCalls.Load())
	mu.Lock()
	now = now.Add(6 * time.Second)
	mu.Unlock()
	_, err = a.Authenticate(t.Context(), key, "")
	require.NoError(t, err)
	require.EqualValues(t, 2, srv.VerifyCalls.Load(), "cache_until from auth bounds the entry")
}

func TestAuthUnavailable(t *testing.T) {
	a, srv := newAuthn(t, authn.Options{VerifyTimeout: time.Second})
	key := srv.AddKey(t, &authv1.Principal{TenantId: "t1"})
	srv.Stop()
	_, err := a.Authenticate(t.Context(), key, "")
	require.ErrorIs(t, err, authn.ErrAuthUnavailable)

	h := a.Middleware(authn.NewPolicy(nil), http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		t.Fatal("must not be reached")
	}))
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/v1/whoami", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	h.ServeHTTP(rec, req)
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	require.NotContains(t, rec.Body.String(), srv.Addr, "no internal address in the error")
}

// TestMiddlewareReadsTheTable: public routes skip authentication, scopes
// and minimum roles come from pkg/permissions, unknown routes are refused
// only after authentication.
func TestMiddlewareReadsTheTable(t *testing.T) {
	a, srv := newAuthn(t, authn.Options{})
	var reached int
	h := a.Middleware(authn.NewPolicy(nil), http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached++ }))
	ownerChat := srv.AddKey(t, &authv1.Principal{TenantId: "t1", Roles: []string{"owner"}, Scopes: []string{"chat:write"}})
	ownerUsage := srv.AddKey(t, &authv1.Principal{TenantId: "t1", Roles: []string{"owner"}, Scopes: []string{"usage:read"}})
	memberUsage := srv.AddKey(t, &authv1.Principal{TenantId: "t1", Roles: []string{"member"}, Scopes: []string{"usage:read"}})
	noRole := srv.AddKey(t, &authv1.Principal{TenantId: "t1", Scopes: []string{"admin"}})
	noRoleAdmin := srv.AddKey(t, &authv1.Principal{TenantId: "t1", Roles: []string{"owner"}, Scopes: []string{"admin"}})
	tests := []struct {
		name, method, path, key string
		want                    int
		code                    string
	}{
		{"public", "GET", "/healthz", "", 200, ""},
		{"slack is public", "POST", "/slack/events", "", 200, ""},
		{"no key", "GET", "/v1/whoami", "", 401, "missing_api_key"},
		{"unknown route needs a key first", "GET", "/v1/nope", "", 401, "missing_api_key"},
		{"unknown route", "GET", "/v1/nope", ownerChat, 404, "not_found"},
		{"wrong method", "DELETE", "/v1/whoami", ownerChat, 405, "method_not_allowed"},
		{"role is not a scope", "GET", "/v1/usage/logs", ownerChat, 403, "insufficient_scope"},
		{"scope and role", "GET", "/v1/usage/logs", ownerUsage, 200, ""},
		{"scope without role", "GET", "/v1/usage/logs/r1", memberUsage, 403, "insufficient_role"},
		{"usage for member", "GET", "/v1/usage", memberUsage, 200, ""},
		{"no role at all", "GET", "/v1/whoami", noRole, 403, "insufficient_role"},
		{"keys:write to create keys", "POST", "/v1/keys", ownerChat, 403, "insufficient_scope"},
		{"operator-only route", "PUT", "/v1/slack/app", noRoleAdmin, 403, "operator_only"},
		{"doubled slash, before the key", "GET", "/v1/secrets//dev/app/db/password:value", "", 404, "not_found"},
		{"encoded slash", "GET", "/v1/secrets/%2Fdev/app/db/password:value", ownerChat, 404, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := reached
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(tt.method, tt.path, nil)
			if tt.key != "" {
				req.Header.Set("Authorization", "Bearer "+tt.key)
			}
			h.ServeHTTP(rec, req)
			if tt.want == 200 {
				require.Equal(t, before+1, reached, rec.Body.String())
				return
			}
			require.Equal(t, before, reached)
			require.Equal(t, tt.want, rec.Code, rec.Body.String())
			require.Contains(t, rec.Body.String(), `"code":"`+tt.code+`"`)
			if strings.Contains(tt.name, "slash") {
				require.Contains(t, rec.Body.String(), "without its leading slash (/v1/secrets/dev/app/db/password)",
					"the refusal shows the path form a secret name takes")
			}
		})
	}
}

func TestEndpointAllowed(t *testing.T) {
	require.True(t, authn.EndpointAllowed(nil, "/v1/anything"))
	require.True(t, authn.EndpointAllowed([]string{"/v1/chat"}, "/v1/chat/completions"))
	require.False(t, authn.EndpointAllowed([]string{"/v1/chat"}, "/v1/chatter"))
	require.True(t, authn.EndpointAllowed([]string{"/v1/keys"}, "/v1/keys:rotate"))
	require.False(t, authn.EndpointAllowed([]string{""}, "/v1/keys"))
}

func FuzzPresentedKey(f *testing.F) {
	for _, s := range []string{"Bearer rk_x", "bearer  x ", "Basic abc", "", "Bearer", "Bearer \x00"} {
		f.Add(s, "")
	}
	f.Add("", "rk_abc")
	f.Fuzz(func(t *testing.T, authz, apiKey string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header["Authorization"] = []string{authz}
		r.Header["X-Api-Key"] = []string{apiKey}
		k := authn.PresentedKey(r)
		if authz != "" && k != "" {
			require.Contains(t, authz, k)
		}
		if authz == "" {
			require.LessOrEqual(t, len(k), len(apiKey))
		}
	})
}

// BenchmarkCacheHit measures a key check served from the cache: parse and
// checksum, SHA-256 of the presented key, map lookup (target ≤ 5 µs).
func BenchmarkCacheHit(b *testing.B) {
	a, srv := newAuthn(b, authn.Options{DegradedTTL: 30 * time.Second})
	key := srv.AddKey(b, &authv1.Principal{TenantId: "t1"})
	_, err := a.Authenticate(b.Context(), key, "")
	require.NoError(b, err)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := a.Authenticate(ctx, key, ""); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	require.EqualValues(b, 1, srv.VerifyCalls.Load())
}

// BenchmarkCacheMiss measures a verification that goes to auth over mTLS
// (the in-test auth: no database, so this is the edge's and the wire's share).
func BenchmarkCacheMiss(b *testing.B) {
	a, srv := newAuthn(b, authn.Options{})
	keys := make([]string, b.N)
	for i := range keys {
		keys[i] = srv.AddKey(b, &authv1.Principal{TenantId: "t1"})
	}
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		if _, err := a.Authenticate(ctx, keys[i], ""); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	latency.Report(b, "", lat)
}

// TestCacheHitBeforeParse: a cached key is answered from the cache; a
// string of a key's shape and id that is not that key (another secret,
// a broken checksum) is never answered from its entry and still refused
// as malformed without reaching auth.
func TestCacheHitBeforeParse(t *testing.T) {
	a, srv := newAuthn(t, authn.Options{})
	key := srv.AddKey(t, &authv1.Principal{TenantId: "t1"})
	for range 3 {
		id, err := a.Authenticate(t.Context(), key, "127.0.0.1")
		require.NoError(t, err)
		require.Equal(t, "t1", id.Principal.GetTenantId())
	}
	require.EqualValues(t, 1, srv.VerifyCalls.Load(), "later calls are cache hits")

	flip := func(c byte) byte {
		if c == 'a' {
			return 'b'
		}
		return 'a'
	}
	for _, i := range []int{len(key) - 1, len(key) - 10} { // the checksum, the secret
		bad := []byte(key)
		bad[i] = flip(bad[i])
		_, err := a.Authenticate(t.Context(), string(bad), "127.0.0.1")
		require.ErrorIs(t, err, authn.ErrMalformedKey, "position %d", i)
	}
	require.EqualValues(t, 1, srv.VerifyCalls.Load(), "malformed keys never reach auth")
}

// TestMiddlewareUsesTheRoutersMatch: the route the router matched (in the
// request's reqstate) is the one authentication decides on; the table is
// not consulted a second time (issue 15). The state below deliberately
// disagrees with the table, which a second match would reveal.
func TestMiddlewareUsesTheRoutersMatch(t *testing.T) {
	a, srv := newAuthn(t, authn.Options{})
	var reached int
	h := a.Middleware(authn.NewPolicy(nil), http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached++ }))
	key := srv.AddKey(t, &authv1.Principal{TenantId: "t1", Roles: []string{"owner"}, Scopes: []string{"admin"}})
	public, _ := permissions.Default().Match(http.MethodGet, "/healthz")
	require.NotNil(t, public)
	tests := []struct {
		name  string
		route *permissions.Route
		known bool
		key   string
		want  int
	}{
		{"router says public: no key asked", public, false, "", 200},
		{"router says other method: 405", nil, true, key, http.StatusMethodNotAllowed},
		{"router says no route: 404", nil, false, key, http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := reached
			req := httptest.NewRequest(http.MethodGet, "/v1/whoami", nil)
			if tt.key != "" {
				req.Header.Set("Authorization", "Bearer "+tt.key)
			}
			st, req := reqstate.Ensure(req)
			st.Route, st.RouteKnown, st.RouteMatched = tt.route, tt.known, true
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if tt.want == 200 {
				require.Equal(t, before+1, reached, rec.Body.String())
				return
			}
			require.Equal(t, before, reached)
			require.Equal(t, tt.want, rec.Code, rec.Body.String())
		})
	}
}

// TestEachBackendGetsItsOwnAssertion (ADR 0083): the edge asks auth for one
// assertion per backend and sends each backend only its own, with the
// delegations for the services that backend forwards the principal to —
// keyvault and auth get no assertion for another service, inference gets
// ingestion's and keyvault's (retrieval, data keys), never auth's.
func TestEachBackendGetsItsOwnAssertion(t *testing.T) {
	a, srv := newAuthn(t, authn.Options{})
	key := srv.AddKey(t, &authv1.Principal{TenantId: "t1"})
	id, err := a.Authenticate(t.Context(), key, "127.0.0.1")
	require.NoError(t, err)
	audienceOf := func(tok string) string {
		p, err := srv.Verifier.Verify(tok)
		require.NoError(t, err)
		return p.GetAudience()
	}
	for svc, delegated := range map[string][]string{
		"auth": nil, "keyvault": nil, "slackadapter": {"auth", "ingestion", "keyvault"},
		"inference": {"ingestion", "keyvault"}, "ingestion": {"keyvault"},
	} {
		f := id.For(svc)
		require.Equal(t, svc, audienceOf(f.Assertion), "a call to %s carries %s's assertion", svc, svc)
		var got []string
		for _, d := range f.Delegated {
			aud, tok, ok := principal.Delegated(f.Assertion, d)
			require.True(t, ok, d)
			require.NotContains(t, strings.TrimPrefix(d, aud+"="), ".", "one payload for all: the delegation is its signature alone (ADR 0098)")
			require.Equal(t, aud, audienceOf(tok), "a delegation is labelled with its audience")
			got = append(got, aud)
		}
		require.ElementsMatch(t, delegated, got, "delegations a call to %s carries", svc)
	}
	require.Empty(t, id.For("mallory").Assertion)
}

// TestSlackRoutesCarryOnlyTheirCallsDelegations (ADR 0105 §3): the Slack
// adapter gets an admin's delegation for auth only on the route whose
// call creates its tenant key (the install link), for ingestion (and what
// ingestion forwards to) only where it checks collections, and none on
// the other admin routes; the key is an owner's with every scope.
func TestSlackRoutesCarryOnlyTheirCallsDelegations(t *testing.T) {
	a, srv := newAuthn(t, authn.Options{})
	key := srv.AddKey(t, &authv1.Principal{TenantId: "t1", Roles: []string{"owner"}, Scopes: []string{"admin"}})
	var got []string
	h := a.Middleware(authn.NewPolicy(nil), recordDelegations(t, &got))
	for _, tt := range []struct {
		method, path string
		want         []string
	}{
		{"GET", "/v1/slack/install", []string{"auth"}},
		{"GET", "/v1/slack/installations", nil},
		{"GET", "/v1/slack/bindings", nil},
		{"DELETE", "/v1/slack/bindings/T1", nil},
		{"PUT", "/v1/slack/bindings", []string{"ingestion", "keyvault"}},
		{"PUT", "/v1/slack/installations/T1/policy", []string{"ingestion", "keyvault"}},
		{"PATCH", "/v1/slack/installations/T1/policy", []string{"ingestion", "keyvault"}},
		{"POST", "/v1/chat/completions", []string{"ingestion", "keyvault"}},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			got = []string{"unreached"}
			req := httptest.NewRequest(tt.method, tt.path, nil)
			req.Header.Set("Authorization", "Bearer "+key)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			require.ElementsMatch(t, tt.want, got)
		})
	}
}

// TestUnresolvedRouteRefused (ADR 0124, after ADR 0107): a route that
// does not come from the permission table (a literal put into the request
// state: nothing resolved on it) is refused with a 500 after
// authentication, its handler never reached, instead of being given a
// forwarding looked up some other way; the same route from the table
// forwards its own delegations (the install link auth's, another Slack
// admin route none).
func TestUnresolvedRouteRefused(t *testing.T) {
	a, srv := newAuthn(t, authn.Options{})
	key := srv.AddKey(t, &authv1.Principal{TenantId: "t1", Roles: []string{"owner"}, Scopes: []string{"admin"}})
	var got []string
	h := a.Middleware(authn.NewPolicy(nil), recordDelegations(t, &got))
	for path, want := range map[string][]string{
		"/v1/slack/install":       {"auth"},
		"/v1/slack/installations": nil,
	} {
		tr, _ := permissions.Default().Match("GET", path)
		require.NotNil(t, tr, path)
		literal := permissions.Route{Method: tr.Method, Pattern: tr.Pattern, RPC: tr.RPC, Scopes: tr.Scopes,
			MinRole: tr.MinRole, Tenant: tr.Tenant, Rate: tr.Rate, MaxBody: tr.MaxBody}
		require.False(t, literal.Resolved())
		for _, route := range []*permissions.Route{tr, &literal} {
			got = []string{"unreached"}
			req := httptest.NewRequest("GET", path, nil)
			st, req := reqstate.Ensure(req)
			st.Route, st.RouteKnown, st.RouteMatched = route, true, true
			req.Header.Set("Authorization", "Bearer "+key)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if route.Resolved() {
				require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
				require.ElementsMatch(t, want, got, path)
				continue
			}
			require.Equal(t, http.StatusInternalServerError, rec.Code, rec.Body.String())
			require.Contains(t, rec.Body.String(), `"code":"internal_error"`)
			require.Equal(t, []string{"unreached"}, got, "%s: the handler is not reached", path)
		}
	}
}

// TestChatRouteHasReadyMetadata (ADR 0121): a chat completion's forwarding
// to inference keeps its delegations, so it carries the ready metadata the
// handler sends as it is; what it holds is recordDelegations' check.
func TestChatRouteHasReadyMetadata(t *testing.T) {
	a, srv := newAuthn(t, authn.Options{})
	key := srv.AddKey(t, &authv1.Principal{TenantId: "t1", Roles: []string{"member"}, Scopes: []string{"chat:write"}})
	var got []string
	var md metadata.MD
	rec := recordDelegations(t, &got)
	h := a.Middleware(authn.NewPolicy(nil), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		md = authn.Outgoing(r.Context())
		rec.ServeHTTP(w, r)
	}))
	req := httptest.NewRequest("POST", "/v1/chat/completions", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.ElementsMatch(t, []string{"ingestion", "keyvault"}, got)
	require.Len(t, md.Get(principal.DelegatedKey), 2)
	require.Len(t, md.Get(principal.MetadataKey), 1)
}

// recordDelegations is a handler behind the middleware that sets *got to
// the audiences of the delegations the request carries onward, and checks
// that the caller's own assertion goes with every route.
func recordDelegations(t *testing.T, got *[]string) http.Handler {
	return http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		st, _ := reqstate.Ensure(r)
		*got = nil
		for _, d := range st.Delegated {
			aud, _, _ := strings.Cut(d, "=")
			*got = append(*got, aud)
		}
		require.NotEmpty(t, st.Assertion, "the caller's own assertion goes with every route")
		// The ready metadata (ADR 0121), where there is one, is exactly the
		// route's assertion and delegations: nothing its narrowing dropped.
		if st.Outgoing != nil {
			want := metadata.MD{principal.MetadataKey: {st.Assertion}}
			if len(st.Delegated) > 0 {
				want[principal.DelegatedKey] = st.Delegated
			}
			require.Equal(t, want, st.Outgoing)
		}
	})
}

// TestSuspendedTenantsRightKeyIsToldSo: a key right in every way whose
// tenant is suspended or deleted is a 403 naming the tenant's state (ADR
// 0132 §2), not the 401 of a wrong key; the same key id with another
// secret, an unknown key and a revoked key of the same tenant stay the
// plain 401, so the answer tells nothing to who does not hold the key.
func TestSuspendedTenantsRightKeyIsToldSo(t *testing.T) {
	a, srv := newAuthn(t, authn.Options{})
	h := a.Middleware(authn.NewPolicy(nil), http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		t.Error("a refused key reached the handler")
	}))
	right := srv.AddKey(t, &authv1.Principal{TenantId: "t_sus", Roles: []string{"member"}})
	revoked := srv.AddKey(t, &authv1.Principal{TenantId: "t_sus", Roles: []string{"member"}})
	srv.RevokeSilently(authtest.KeyID(t, revoked))
	gone := srv.AddKey(t, &authv1.Principal{TenantId: "t_gone", Roles: []string{"member"}})
	forged, err := apikey.Generate()
	require.NoError(t, err)
	forged.ID = authtest.KeyID(t, right) // the right id, another secret
	unknown, err := apikey.Generate()
	require.NoError(t, err)
	srv.SuspendTenant("t_sus")
	srv.MarkTenantDeleted("t_gone")

	tests := []struct {
		name, key, code string
		want            int
	}{
		{"right key, suspended tenant", right, "tenant_suspended", http.StatusForbidden},
		{"right key, deleted tenant", gone, "tenant_deleted", http.StatusForbidden},
		{"the right id with a wrong secret", forged.Plaintext(), "invalid_api_key", http.StatusUnauthorized},
		{"a revoked key of the suspended tenant", revoked, "invalid_api_key", http.StatusUnauthorized},
		{"an unknown key", unknown.Plaintext(), "invalid_api_key", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, "/v1/whoami", nil)
			req.Header.Set("Authorization", "Bearer "+tt.key)
			h.ServeHTTP(rec, req)
			require.Equal(t, tt.want, rec.Code, rec.Body.String())
			require.Contains(t, rec.Body.String(), `"code":"`+tt.code+`"`)
			if tt.want == http.StatusUnauthorized {
				require.NotContains(t, rec.Body.String(), "suspended")
			}
		})
	}
	srv.ResumeTenant("t_sus")
	_, err = a.Authenticate(t.Context(), right, "")
	require.NoError(t, err, "resumed: the same key works again (the refusal was not cached)")
}

// TestRevocationEndsOpenStreams (ADR 0132 §3): a stream opened with a key
// (a job's watch, which lasts as long as the job) ends when the key is
// revoked or its tenant suspended; before, the key was checked once at the
// start and the stream went on after the revocation. Another key's stream
// goes on; a route that does not stream is not tracked.
func TestRevocationEndsOpenStreams(t *testing.T) {
	a, srv := newAuthn(t, authn.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() { _ = a.Watch(ctx) }()
	require.Eventually(t, a.Synced, 10*time.Second, 5*time.Millisecond)

	started := make(chan struct{}, 8)
	h := a.Middleware(authn.NewPolicy(nil), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		select {
		case <-r.Context().Done():
			w.WriteHeader(http.StatusGone) // the test reads why it ended
			_, _ = w.Write([]byte(context.Cause(r.Context()).Error()))
		case <-time.After(30 * time.Second): // a hang guard
			w.WriteHeader(http.StatusRequestTimeout)
		}
	}))
	p := &authv1.Principal{TenantId: "t_s", Roles: []string{"viewer"}, Scopes: []string{"ingest:read"}}
	leaked, other := srv.AddKey(t, p), srv.AddKey(t, p)
	suspended := srv.AddKey(t, &authv1.Principal{TenantId: "t_s2", Roles: []string{"viewer"}, Scopes: []string{"ingest:read"}})
	watch := func(key string) <-chan *httptest.ResponseRecorder {
		out := make(chan *httptest.ResponseRecorder, 1)
		go func() {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, "/v1/ingest/jobs/job_1:watch", nil)
			req.Header.Set("Authorization", "Bearer "+key)
			h.ServeHTTP(rec, req)
			out <- rec
		}()
		<-started
		return out
	}
	ended := func(ch <-chan *httptest.ResponseRecorder) *httptest.ResponseRecorder {
		select {
		case rec := <-ch:
			return rec
		case <-time.After(10 * time.Second):
			t.Fatal("the stream did not end")
			return nil
		}
	}
	leakedStream, otherStream, tenantStream := watch(leaked), watch(other), watch(suspended)
	require.Equal(t, 3, a.OpenStreams())

	srv.Revoke(authtest.KeyID(t, leaked), "t_s")
	rec := ended(leakedStream)
	require.Equal(t, http.StatusGone, rec.Code)
	require.Contains(t, rec.Body.String(), authn.ErrStreamKeyRevoked.Error())
	srv.SuspendTenant("t_s2")
	require.Equal(t, http.StatusGone, ended(tenantStream).Code)
	select {
	case <-otherStream:
		t.Fatal("another key's stream ended")
	default:
	}
	require.Equal(t, 1, a.OpenStreams())

	// A plain route is not tracked.
	plain := a.Middleware(authn.NewPolicy(nil), http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		require.Equal(t, 1, a.OpenStreams())
	}))
	req := httptest.NewRequest(http.MethodGet, "/v1/ingest/jobs/job_1", nil)
	req.Header.Set("Authorization", "Bearer "+other)
	plain.ServeHTTP(httptest.NewRecorder(), req)

	srv.Revoke(authtest.KeyID(t, other), "t_s")
	require.Equal(t, http.StatusGone, ended(otherStream).Code)
	require.Zero(t, a.OpenStreams(), "an ended stream is forgotten")
}
