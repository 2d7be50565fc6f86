package router_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/logging"
	"github.com/rampart-platform/rampart/pkg/logging/logtest"
	"github.com/rampart-platform/rampart/services/edge/internal/middleware"
	"github.com/rampart-platform/rampart/services/edge/internal/router"
)

// The access log line names the client address the edge trusts (the
// forwarded one only behind a trusted proxy) and the duration with its unit.
func TestAccessLogClientIPAndDuration(t *testing.T) {
	tests := []struct {
		name    string
		trusted []netip.Prefix
		want    string
	}{
		{"peer not trusted: the TCP peer, the header ignored", nil, "127.0.0.1"},
		{"peer is a trusted proxy: the right-most untrusted forwarded address",
			[]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, "203.0.113.7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf logtest.Buffer
			h := router.New(router.Options{
				Log: slog.New(slog.NewJSONHandler(&buf, nil)), OpenAPI: []byte(`{}`), TrustedProxies: tt.trusted,
			})
			srv := httptest.NewServer(h)
			t.Cleanup(srv.Close)
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/healthz", nil)
			require.NoError(t, err)
			req.Header.Set("X-Forwarded-For", "198.51.100.1, 203.0.113.7")
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			require.NoError(t, resp.Body.Close())
			require.Equal(t, http.StatusOK, resp.StatusCode)

			var line map[string]any
			for l := range strings.SplitSeq(strings.TrimSpace(buf.String()), "\n") {
				var m map[string]any
				require.NoError(t, json.Unmarshal([]byte(l), &m), l)
				if m["msg"] == "http request" {
					line = m
				}
			}
			require.NotNil(t, line, "no access log line in %s", buf.String())
			require.Equal(t, tt.want, line["client_ip"])
			require.Equal(t, "/healthz", line["path"])
			d, ok := line["duration_us"].(float64)
			require.True(t, ok, "duration_us missing or not a number: %v", line)
			require.GreaterOrEqual(t, d, 0.0)
			require.NotContains(t, line, "duration")
		})
	}
}

// With sampling, a successful request of a route sampled at 0 leaves no
// line, an error on the same route always does, and a sampled line says
// its rate.
func TestAccessLogSampling(t *testing.T) {
	var buf logtest.Buffer
	sampling, err := middleware.ParseSampling(0, []string{"/readyz=1"})
	require.NoError(t, err)
	h := router.New(router.Options{
		Log: slog.New(slog.NewJSONHandler(&buf, nil)), OpenAPI: []byte(`{}`), AccessLogSampling: &sampling,
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	for _, path := range []string{"/healthz", "/readyz", "/no-such-route"} {
		resp, err := http.Get(srv.URL + path) //nolint:noctx // a test request
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
	}
	var paths []string
	for l := range strings.SplitSeq(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m), l)
		if m["msg"] == "http request" {
			path, ok := m["path"].(string)
			require.True(t, ok, l)
			paths = append(paths, path)
			require.NotContains(t, m, "sample_rate", "rate 1 lines carry no rate")
		}
	}
	require.Equal(t, []string{"/readyz", "/no-such-route"}, paths, "/healthz (200) sampled out; the 404 always logged")
}

// The middlewares share one per-request state (internal/reqstate): the
// access log line of an authenticated request names the verified tenant
// once, the edge's request id (the one answered in X-Request-Id) and the
// client's accepted correlation id; a refused request's line has an empty
// tenant_id, also once.
func TestAccessLogRequestState(t *testing.T) {
	var buf logtest.Buffer
	e := newEdge(t, edgeOpts{log: logging.New(&buf, slog.LevelInfo)})
	key := e.auth.AddKey(t, tenantA())

	resp := e.do(t, http.MethodGet, "/v1/whoami", key, nil, middleware.ClientRequestIDHeader, "client-42")
	m := readJSON(t, resp, http.StatusOK)
	require.Equal(t, "t_alpha", m["tenant_id"], "the principal reached the backend")
	reqID := resp.Header.Get(middleware.RequestIDHeader)
	require.NotEmpty(t, reqID)
	resp = e.do(t, http.MethodGet, "/v1/whoami", "", nil)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	var lines []string
	for l := range strings.SplitSeq(strings.TrimSpace(buf.String()), "\n") {
		if strings.Contains(l, `"msg":"http request"`) {
			lines = append(lines, l)
		}
	}
	require.Len(t, lines, 2, buf.String())
	for i, want := range []string{"t_alpha", ""} {
		require.Equal(t, 1, strings.Count(lines[i], `"tenant_id"`), lines[i])
		var line map[string]any
		require.NoError(t, json.Unmarshal([]byte(lines[i]), &line))
		require.Equal(t, want, line["tenant_id"], lines[i])
		require.Equal(t, "127.0.0.1", line["client_ip"])
		require.NotEmpty(t, line["time"])
	}
	var first map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &first))
	require.Equal(t, reqID, first["request_id"])
	require.Equal(t, "client-42", first["client_request_id"])
}
