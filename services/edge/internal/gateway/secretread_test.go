package gateway

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPlainSecretRead: which requests SecretReads answers itself (the
// equivalence with grpc-gateway is TestSecretReadsAnswerAsTheGateway in
// internal/router).
func TestPlainSecretRead(t *testing.T) {
	for _, tt := range []struct {
		method, target string
		header         []string
		name           string // "" = left to grpc-gateway
	}{
		{http.MethodGet, "/v1/secrets/dev/app/db/pass:value", nil, "dev/app/db/pass"},
		{http.MethodGet, "/v1/secrets/one:value", nil, "one"},
		{http.MethodGet, "/v1/secrets/a-b_c~d.e/F9/...x:value", nil, "a-b_c~d.e/F9/...x"},
		{http.MethodGet, "/v1/secrets/.../x:value", nil, ""},
		{http.MethodGet, "/v1/secrets/./x:value", nil, ""},
		{http.MethodGet, "/v1/secrets/x/..:value", nil, ""},
		{http.MethodGet, "/v1/secrets/x//y:value", nil, ""},
		{http.MethodGet, "/v1/secrets/x/:value", nil, ""},
		{http.MethodGet, "/v1/secrets/:value", nil, ""},
		{http.MethodGet, "/v1/secrets/a:b:value", nil, ""},
		{http.MethodGet, "/v1/secrets/a%2Fb:value", nil, ""},
		{http.MethodGet, "/v1/secrets/a%20b:value", nil, ""},
		{http.MethodGet, "/v1/secrets/x:value?version_stage=AWSPREVIOUS", nil, ""},
		{http.MethodGet, "/v1/secrets/x:value?", nil, ""},
		{http.MethodGet, "/v1/secrets/x:valuex", nil, ""},
		{http.MethodGet, "/v1/secrets/x", nil, ""},
		{http.MethodHead, "/v1/secrets/x:value", nil, ""},
		{http.MethodPost, "/v1/secrets/x:value", nil, ""},
		{http.MethodGet, "/v1/secrets/x:value", []string{"Te", "trailers"}, ""},
		{http.MethodGet, "/v1/secrets/x:value", []string{"Grpc-Timeout", "1S"}, ""},
	} {
		r := httptest.NewRequestWithContext(t.Context(), tt.method, tt.target, nil)
		for i := 0; i+1 < len(tt.header); i += 2 {
			r.Header.Set(tt.header[i], tt.header[i+1])
		}
		name, ok := plainSecretRead(r)
		require.Equal(t, tt.name != "", ok, "%s %s %v", tt.method, tt.target, tt.header)
		require.Equal(t, tt.name, name, "%s %s", tt.method, tt.target)
	}
}

// TestSecretReadsWithoutKeyvault: an edge without keyvault serves the
// gateway mux unchanged (its routes answer 503 there).
func TestSecretReadsWithoutKeyvault(t *testing.T) {
	mux := NewMux(slog.New(slog.DiscardHandler))
	require.Same(t, http.Handler(mux), SecretReads(nil, mux, nil))
}
