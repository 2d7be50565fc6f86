package middleware_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/edge/internal/middleware"
)

func TestClientAddr(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	tests := []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"direct client, XFF ignored", "198.51.100.7:5000", []string{"1.2.3.4"}, "198.51.100.7"},
		{"trusted proxy", "10.0.0.2:5000", []string{"203.0.113.9"}, "203.0.113.9"},
		{"chain of trusted proxies", "10.0.0.2:5000", []string{"1.1.1.1, 203.0.113.9, 10.0.0.5"}, "203.0.113.9"},
		{"spoofed left part ignored", "10.0.0.2:5000", []string{"6.6.6.6", "203.0.113.9"}, "203.0.113.9"},
		{"garbage stops the walk", "10.0.0.2:5000", []string{"203.0.113.9, nonsense"}, "10.0.0.2"},
		{"trusted proxy without XFF", "10.0.0.2:5000", nil, "10.0.0.2"},
		{"ipv6", "[2001:db8::1]:443", nil, "2001:db8::1"},
		{"ipv6 in its long form", "[2001:0db8:0:0::1]:443", nil, "2001:db8::1"},
		{"ipv4-mapped ipv6", "[::ffff:198.51.100.7]:443", nil, "198.51.100.7"},
		{"ipv4 without a port", "198.51.100.7", nil, "198.51.100.7"},
		{"not an address", "unix-socket", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			var xffLeft []string
			h := middleware.ClientAddr(trusted, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				got = middleware.ClientIP(r.Context())
				xffLeft = r.Header.Values("X-Forwarded-For")
			}))
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			require.Equal(t, tt.want, got)
			require.Empty(t, xffLeft, "XFF is stripped after use")
		})
	}
}

func FuzzClientAddr(f *testing.F) {
	f.Add("10.0.0.1:1", "1.2.3.4, 10.0.0.9")
	f.Add("garbage", ",,,")
	f.Add("[::1]:1", "::ffff:1.2.3.4")
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	f.Fuzz(func(t *testing.T, remote, xff string) {
		h := middleware.ClientAddr(trusted, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			ip := middleware.ClientIP(r.Context())
			if ip != "" {
				a, err := netip.ParseAddr(ip)
				require.NoError(t, err)
				require.Equal(t, a.String(), ip, "the canonical text")
			}
		}))
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-For", xff)
		h.ServeHTTP(httptest.NewRecorder(), r)
	})
}

// The request id is always the edge's; a sane client id is kept beside it
// (from X-Client-Request-Id, else a legacy X-Request-Id).
func TestRequestID(t *testing.T) {
	tests := []struct {
		name       string
		header, in string
		wantClient string
	}{
		{"client id header", middleware.ClientRequestIDHeader, "abc-123", "abc-123"},
		{"legacy X-Request-Id kept as the client id", middleware.RequestIDHeader, "abc-123", "abc-123"},
		{"none", middleware.RequestIDHeader, "", ""},
		{"space", middleware.ClientRequestIDHeader, "has space", ""},
		{"too long", middleware.ClientRequestIDHeader, string(make([]byte, 200)), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var seen, seenClient string
			h := middleware.RequestID(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				seen = r.Header.Get(middleware.RequestIDHeader)
				seenClient = middleware.ClientRequestID(r.Context())
			}))
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set(tt.header, tt.in)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			out := rec.Header().Get(middleware.RequestIDHeader)
			require.Equal(t, seen, out, "backends get the id the client sees")
			require.Len(t, out, 32)
			require.NotEqual(t, tt.in, out)
			require.Equal(t, tt.wantClient, rec.Header().Get(middleware.ClientRequestIDHeader))
			require.Equal(t, tt.wantClient, seenClient)
		})
	}
}

// TestRequestIDHeadersIndependent: the request and the response carry the
// id in one shared value slice; changing either header leaves the other.
func TestRequestIDHeadersIndependent(t *testing.T) {
	var reqAfter []string
	h := middleware.RequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add(middleware.RequestIDHeader, "added-to-the-response")
		r.Header.Add(middleware.RequestIDHeader, "added-to-the-request")
		reqAfter = r.Header.Values(middleware.RequestIDHeader)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	resp := rec.Header().Values(middleware.RequestIDHeader)
	require.Len(t, resp, 2)
	require.Len(t, reqAfter, 2)
	require.Equal(t, resp[0], reqAfter[0])
	require.Equal(t, []string{"added-to-the-response", "added-to-the-request"}, []string{resp[1], reqAfter[1]})
}

func FuzzValidRequestID(f *testing.F) {
	f.Add("abc")
	f.Add("a\nb")
	f.Fuzz(func(t *testing.T, s string) {
		if middleware.ValidRequestID(s) {
			require.LessOrEqual(t, len(s), 128)
			require.NotContains(t, s, "\n")
			require.NotContains(t, s, " ")
		}
	})
}

func TestCORSAllowList(t *testing.T) {
	h := middleware.CORS([]string{"https://app.example.com"}, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
	}))
	r := httptest.NewRequest(http.MethodOptions, "/v1/whoami", nil)
	r.Header.Set("Origin", "https://app.example.com")
	r.Header.Set("Access-Control-Request-Method", "GET")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	require.Equal(t, http.StatusNoContent, rec.Code)
	require.Equal(t, "https://app.example.com", rec.Header().Get("Access-Control-Allow-Origin"))
	exposed := strings.Split(rec.Header().Get("Access-Control-Expose-Headers"), ", ")
	for _, name := range []string{"X-Request-Id", "Retry-After", "Retry-After-Ms", "X-Ratelimit-Remaining-Requests", "X-Ratelimit-Limit-Tokens",
		"X-Ratelimit-Remaining-Tokens", "X-Ratelimit-Reset-Tokens"} {
		require.Contains(t, exposed, name, "a browser client reads %s as the SDKs do", name)
	}

	r.Header.Set("Origin", "https://evil.example.com")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	require.Equal(t, http.StatusForbidden, rec.Code)
	require.Empty(t, rec.Header().Get("Access-Control-Allow-Origin"))
}

func TestSecurityHeadersHSTSWithTLS(t *testing.T) {
	rec := httptest.NewRecorder()
	middleware.SecurityHeaders(true, http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	require.Contains(t, rec.Header().Get("Strict-Transport-Security"), "max-age=")
}

// TestAccessLogMetrics: requests are counted by route class, method and
// status through the bound series, each combination apart.
func TestAccessLogMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := middleware.NewMetrics(reg)
	h := middleware.AccessLog(slog.New(slog.DiscardHandler), m, func(r *http.Request) string { return "/v1/" + r.URL.Query().Get("c") }, nil,
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("fail") != "" {
				w.WriteHeader(http.StatusTeapot)
			}
		}))
	for _, u := range []string{"/?c=a", "/?c=a", "/?c=a&fail=1", "/?c=b"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, u, nil))
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("BREW", "/?c=a", nil))
	tests := []struct {
		route, method, code string
		want                float64
	}{
		{"/v1/a", "GET", "200", 2},
		{"/v1/a", "GET", "418", 1},
		{"/v1/b", "GET", "200", 1},
		{"/v1/a", "OTHER", "200", 1},
	}
	for _, tt := range tests {
		c, err := m.Requests().GetMetricWithLabelValues(tt.route, tt.method, tt.code)
		require.NoError(t, err)
		require.Equal(t, tt.want, testutil.ToFloat64(c), "%+v", tt)
	}
	require.Equal(t, 4, testutil.CollectAndCount(m.Requests()))
	require.Equal(t, 2, testutil.CollectAndCount(m.Duration()))
}

// TestRecover: a panic before anything was written becomes a 500 (counted
// as such by the access log around it); after the header went out nothing
// more is written. The same alone and inside AccessLog, whose recorder
// Recover then shares.
func TestRecover(t *testing.T) {
	tests := []struct {
		name        string
		handler     http.HandlerFunc
		wantStatus  int
		wantBodyPfx string
	}{
		{"before writing", func(http.ResponseWriter, *http.Request) { panic("boom") }, http.StatusInternalServerError, `{"error":`},
		{"after the header", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusAccepted)
			_, _ = w.Write([]byte("partial"))
			panic("boom")
		}, http.StatusAccepted, "partial"},
		{"after a flush", func(w http.ResponseWriter, _ *http.Request) {
			w.(http.Flusher).Flush() //nolint:errcheck,forcetypeassert // the recorders flush
			panic("boom")
		}, http.StatusOK, ""},
	}
	for _, tt := range tests {
		for _, withLog := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/access log %v", tt.name, withLog), func(t *testing.T) {
				reg := prometheus.NewRegistry()
				m := middleware.NewMetrics(reg)
				h := middleware.Recover(slog.New(slog.DiscardHandler), tt.handler)
				if withLog {
					h = middleware.AccessLog(slog.New(slog.DiscardHandler), m, func(*http.Request) string { return "/v1/x" }, nil, h)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
				require.Equal(t, tt.wantStatus, rec.Code)
				require.True(t, strings.HasPrefix(rec.Body.String(), tt.wantBodyPfx), rec.Body.String())
				if tt.wantBodyPfx == "partial" {
					require.Equal(t, "partial", rec.Body.String(), "nothing written after the panic")
				}
				if withLog {
					c, err := m.Requests().GetMetricWithLabelValues("/v1/x", "GET", strconv.Itoa(tt.wantStatus))
					require.NoError(t, err)
					require.Equal(t, 1.0, testutil.ToFloat64(c))
				}
			})
		}
	}
}
