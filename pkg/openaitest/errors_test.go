package openaitest_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/openaitest"
)

// recorder is a testing.TB whose failures are counted, not fatal, so the
// helper's refusals can be checked.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) FailNow()              { r.failed = true; panic(r) }
func (r *recorder) Helper()               {}

// failsOn runs f against a recorder and reports whether it failed.
func failsOn(t *testing.T, f func(tb testing.TB)) (failed bool) {
	t.Helper()
	r := &recorder{TB: t}
	defer func() {
		if p := recover(); p != nil && p != r {
			panic(p)
		}
		failed = r.failed
	}()
	f(r)
	return r.failed
}

func TestRequireErrorBody(t *testing.T) {
	jsonHeader := http.Header{"Content-Type": []string{"application/json"}}
	withParam := `{"error":{"message":"m","type":"invalid_request_error","param":"model","code":"model_not_found"}}`
	nullParam := `{"error":{"message":"m","type":"invalid_request_error","param":null,"code":"invalid_json"}}`

	e := openaitest.RequireErrorBody(t, 404, jsonHeader, []byte(withParam), 404, "invalid_request_error", "model")
	require.Equal(t, "model_not_found", e.Error.Code)
	openaitest.RequireErrorBody(t, 400, jsonHeader, []byte(nullParam), 400, "invalid_request_error", "")

	tests := []struct {
		name         string
		status       int
		header       http.Header
		body, typ, p string
	}{
		{"another status", 400, jsonHeader, withParam, "invalid_request_error", "model"},
		{"not JSON", 404, http.Header{"Content-Type": []string{"text/plain"}}, withParam, "invalid_request_error", "model"},
		{"not a body", 404, jsonHeader, `not json`, "invalid_request_error", "model"},
		{"another type", 404, jsonHeader, withParam, "server_error", "model"},
		{"param expected", 400, jsonHeader, nullParam, "invalid_request_error", "model"},
		{"null param expected", 404, jsonHeader, withParam, "invalid_request_error", ""},
		{"no code", 404, jsonHeader, `{"error":{"message":"m","type":"invalid_request_error","param":"model","code":""}}`, "invalid_request_error", "model"},
		{"no message", 404, jsonHeader, `{"error":{"message":"","type":"invalid_request_error","param":"model","code":"c"}}`, "invalid_request_error", "model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.True(t, failsOn(t, func(tb testing.TB) {
				openaitest.RequireErrorBody(tb, tt.status, tt.header, []byte(tt.body), 404, tt.typ, tt.p)
			}))
		})
	}
}
