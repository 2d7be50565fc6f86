package router_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// Issue 10, item 8: client-sent gRPC metadata and call options never reach
// a backend, and a request with two keys is refused.
func TestClientGRPCMetadataNeverReachesBackends(t *testing.T) {
	e := newEdge(t, edgeOpts{})
	key := e.auth.AddKey(t, tenantA())

	// Grpc-Timeout would become the deadline of the backend call (a 1 ns
	// deadline fails it with 504); Grpc-Metadata-* would become metadata.
	resp := e.do(t, http.MethodGet, "/v1/whoami", key, nil,
		"Grpc-Timeout", "1n",
		"Grpc-Metadata-X-Tenant", "t_other",
		"Grpc-Metadata-Authorization", "Bearer forged",
		"Grpc-Encoding", "gzip",
		"X-Rampart-Principal", "v1.forged.payload.sig",
		"X-Rampart-Tenant", "t_other")
	readJSON(t, resp, http.StatusOK)
	md := e.auth.LastMetadata()
	for k := range md {
		require.NotContains(t, []string{"x-tenant", "authorization", "grpc-encoding", "x-rampart-tenant", "x-forwarded-host"}, k,
			"client-controlled metadata %q reached the backend: %v", k, md)
	}
	require.Len(t, md.Get("x-rampart-principal"), 1)
	require.NotEqual(t, "v1.forged.payload.sig", md.Get("x-rampart-principal")[0])

	// The Host header is the client's too: grpc-gateway would forward it as
	// x-forwarded-host.
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, e.url+"/v1/whoami", nil)
	require.NoError(t, err)
	req.Host = "internal.admin.example"
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	readJSON(t, resp, http.StatusOK)
	require.Empty(t, e.auth.LastMetadata().Get("x-forwarded-host"))
}

func TestTwoKeysRefused(t *testing.T) {
	e := newEdge(t, edgeOpts{})
	key := e.auth.AddKey(t, tenantA())
	other := e.auth.AddKey(t, tenantA())
	for name, h := range map[string]http.Header{
		"two Authorization":   {"Authorization": {"Bearer " + other, "Bearer " + key}},
		"two X-Api-Key":       {"X-Api-Key": {key, other}},
		"different key kinds": {"Authorization": {"Bearer " + key}, "X-Api-Key": {other}},
	} {
		t.Run(name, func(t *testing.T) {
			for _, path := range []string{"/v1/whoami", "/healthz"} {
				req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, e.url+path, nil)
				require.NoError(t, err)
				req.Header = h
				resp, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				apiErr := readError(t, resp, http.StatusBadRequest)
				require.Equal(t, "ambiguous_credentials", apiErr.Error.Code)
			}
		})
	}
}
