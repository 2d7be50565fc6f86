package openaitest_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/openaitest/sdkcheck"
)

// TestSDKRequireAPIError checks sdkcheck's helpers (here, beside
// RequireErrorBody's test, to share failsOn) on the error openai-go really
// returns for an OpenAI error answer.
func TestSDKRequireAPIError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":{"message":"no such model","type":"invalid_request_error","param":"model","code":"model_not_found"}}`))
	}))
	t.Cleanup(srv.Close)
	c := oai.NewClient(option.WithBaseURL(srv.URL+"/v1/"), option.WithAPIKey("sk-test"), option.WithMaxRetries(0))
	_, err := c.Models.Get(context.Background(), "gpt-x")

	e := sdkcheck.CheckAPIError(t, err, http.StatusNotFound, "invalid_request_error", "model_not_found", "model")
	require.Equal(t, "no such model", e.Message)

	tests := []struct {
		name             string
		err              error
		status           int
		typ, code, param string
	}{
		{"not an API error", errors.New("dial: refused"), 404, "invalid_request_error", "model_not_found", "model"},
		{"another status", err, 400, "invalid_request_error", "model_not_found", "model"},
		{"another type", err, 404, "server_error", "model_not_found", "model"},
		{"another code", err, 404, "invalid_request_error", "invalid_model", "model"},
		{"another param", err, 404, "invalid_request_error", "model_not_found", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.True(t, failsOn(t, func(tb testing.TB) {
				sdkcheck.RequireAPIError(tb, tt.err, tt.status, tt.typ, tt.code, tt.param)
			}))
		})
	}
}
