package middleware_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/edge/internal/middleware"
)

func TestHeaderGuard(t *testing.T) {
	const key, other = "rk_aaaa", "rk_bbbb"
	cases := []struct {
		name   string
		header http.Header
		// wantStatus 0: passed on.
		wantStatus int
		wantLeft   http.Header
	}{
		{"one Authorization", http.Header{"Authorization": {"Bearer " + key}}, 0, http.Header{"Authorization": {"Bearer " + key}}},
		{"two Authorization", http.Header{"Authorization": {"Bearer " + key, "Bearer " + other}}, 400, nil},
		{"two identical Authorization", http.Header{"Authorization": {"Bearer " + key, "Bearer " + key}}, 400, nil},
		{"two X-Api-Key", http.Header{"X-Api-Key": {key, other}}, 400, nil},
		{"both headers, same key", http.Header{"Authorization": {"Bearer " + key}, "X-Api-Key": {key}}, 0,
			http.Header{"Authorization": {"Bearer " + key}, "X-Api-Key": {key}}},
		{"both headers, different keys", http.Header{"Authorization": {"Bearer " + key}, "X-Api-Key": {other}}, 400, nil},
		{"both headers, Basic auth", http.Header{"Authorization": {"Basic " + key}, "X-Api-Key": {key}}, 400, nil},
		{"gRPC and internal headers removed", http.Header{
			"Grpc-Timeout":                      {"1n"},
			"Grpc-Metadata-X-Rampart-Principal": {"v1.forged"},
			"Grpc-Metadata-X-Request-Id":        {"spoof"},
			"grpc-encoding":                     {"gzip"}, // a non-canonical key, as a handler may see
			"Grpc-Trace-Bin":                    {"AAAA"},
			"X-Rampart-Principal":               {"v1.forged"},
			"X-Rampart-Tenant":                  {"t-other"},
			"X-Request-Id":                      {"abc"},
			"Content-Type":                      {"application/json"},
			"Grpcx":                             {"kept: not the Grpc- prefix"},
		}, 0, http.Header{
			"X-Request-Id": {"abc"}, "Content-Type": {"application/json"}, "Grpcx": {"kept: not the Grpc- prefix"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got http.Header
			h := middleware.HeaderGuard(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				got = r.Header.Clone()
			}))
			r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
			r.Header = tc.header
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if tc.wantStatus != 0 {
				require.Equal(t, tc.wantStatus, rec.Code)
				require.Nil(t, got, "the request must not be passed on")
				var body struct {
					Error struct{ Code, Type, Message string } `json:"error"`
				}
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
				require.Equal(t, middleware.CodeAmbiguousCredentials, body.Error.Code)
				require.Equal(t, "invalid_request_error", body.Error.Type)
				require.NotContains(t, rec.Body.String(), key, "keys are never echoed")
				return
			}
			require.Equal(t, tc.wantLeft, got)
		})
	}
}
