package router

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/permissions"
	"github.com/rampart-platform/rampart/services/edge/internal/authn"
	"github.com/rampart-platform/rampart/services/edge/internal/middleware"
)

// TestLimitsFromTable: body limits and write deadlines come from the
// permission table's route.
func TestLimitsFromTable(t *testing.T) {
	limits := limitsFor(time.Minute, 15*time.Minute)
	policy := authn.NewPolicy(nil)
	tests := []struct {
		method, path string
		want         middleware.RouteLimits
	}{
		{"POST", "/v1/collections/handbook/documents", middleware.RouteLimits{MaxBody: permissions.BodyUpload, WriteDeadline: time.Minute}},
		{"GET", "/v1/collections/handbook/documents", middleware.RouteLimits{MaxBody: permissions.BodyAdmin, WriteDeadline: time.Minute}},
		{"POST", "/v1/collections//documents", middleware.RouteLimits{MaxBody: permissions.BodyAdmin, WriteDeadline: time.Minute}},
		{"POST", "/v1/chat/completions", middleware.RouteLimits{MaxBody: permissions.BodyModel, WriteDeadline: 15 * time.Minute}},
		{"POST", "/v1/embeddings", middleware.RouteLimits{MaxBody: permissions.BodyModel, WriteDeadline: time.Minute}},
		{"POST", "/v1/keys", middleware.RouteLimits{MaxBody: permissions.BodyAdmin, WriteDeadline: time.Minute}},
		{"GET", "/v1/nope", middleware.RouteLimits{MaxBody: permissions.BodyAdmin, WriteDeadline: time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			var got middleware.RouteLimits
			h := matchRoute(policy, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = limits(r) }))
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(tt.method, tt.path, nil))
			require.Equal(t, tt.want, got)
		})
	}
}

func TestClassify(t *testing.T) {
	policy := authn.NewPolicy(nil)
	tests := []struct{ method, path, want string }{
		{"GET", "/healthz", "/healthz"},
		{"POST", "/slack/events", "/slack"},
		{"GET", "/api/observability/secrets", "/api/observability/secrets"},
		{"POST", "/v1/keys/AbC:rotate", "/v1/keys"},
		{"GET", "/v1/audit:verify", "/v1/audit"},
		{"POST", "/v1/secrets:batchGet", "/v1/secrets"},
		{"GET", "/v1/secrets/prod/db:value", "/v1/secrets"},
		{"POST", "/v1/chat/completions", "/v1/chat"},
		{"GET", "/v1/models/org/m", "/v1/models"},
		{"GET", "/v1/nope", "other"},
		{"GET", "/v1/user-controlled-" + "x", "other"},
	}
	for _, tt := range tests {
		var got string
		h := matchRoute(policy, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = Classify(r) }))
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(tt.method, tt.path, nil))
		require.Equal(t, tt.want, got, tt.path)
	}
}

// TestFamilyOfEveryRoute: the route label is the old concatenation's for
// every route of the table, now cut from the pattern without allocating.
func TestFamilyOfEveryRoute(t *testing.T) {
	old := func(pattern string) string {
		if strings.HasPrefix(pattern, "/slack/") {
			return "/slack"
		}
		rest, ok := strings.CutPrefix(pattern, "/v1/")
		if !ok {
			return pattern
		}
		if i := strings.IndexAny(rest, "/:"); i >= 0 {
			rest = rest[:i]
		}
		return "/v1/" + rest
	}
	routes := permissions.Default().Routes()
	require.NotEmpty(t, routes)
	for _, r := range routes {
		require.Equal(t, old(r.Pattern), family(r.Pattern), r.Pattern)
		require.Zero(t, testing.AllocsPerRun(10, func() { _ = family(r.Pattern) }), r.Pattern)
	}
	for _, p := range []string{"/v1/", "/v1/x", "/v1/x:y", "/v1/x/y", "/v1/:y", "/healthz", "/slack/events"} {
		require.Equal(t, old(p), family(p), p)
	}
}
