package server_test

import (
	"bytes"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	"github.com/rampart-platform/rampart/pkg/keyvaulttest"
	"github.com/rampart-platform/rampart/pkg/openaitest"
	"github.com/rampart-platform/rampart/services/inference/internal/servertest"
)

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

const secretName = "/test/inference/api-key/openai"

// The upstream's API key is a keyvault secret read over mTLS with the
// caller's principal: each tenant's own secret; rotation is picked up once
// the upstream rejects the old key; values never reach logs or callers.
func TestUpstreamKeyFromKeyvault(t *testing.T) {
	fake := &openaitest.Upstream{APIKey: "sk-tenant-one-v1"} //nolint:gosec // test key
	up := httptest.NewServer(fake)
	t.Cleanup(up.Close)
	reg := `{
  "upstreams": {"fake": {"type": "openai", "base_url": "` + up.URL + `/v1", "api_key_secret": "` + secretName + `", "max_retries": -1},
                "fake-json": {"type": "openai", "base_url": "` + up.URL + `/v1", "api_key_secret": "/test/inference/api-key/json", "api_key_secret_field": "api_key", "max_retries": -1}},
  "models": [
    {"id": "gpt-fake", "upstream": "fake", "upstream_model": "gpt-4o-mini"},
    {"id": "gpt-json", "upstream": "fake-json", "upstream_model": "gpt-4o-mini"}
  ]
}`
	logs := &syncBuffer{}
	srv := servertest.Start(t, servertest.Options{
		Models: []byte(reg),
		Logger: slog.New(slog.NewJSONHandler(logs, nil)),
		Keyvault: func(kv *keyvaulttest.Server) {
			kv.Put("t1", secretName, "sk-tenant-one-v1\n")
			kv.Put("t1", "/test/inference/api-key/json", `{"api_key":"sk-tenant-one-v1"}`)
			kv.Put("t2", secretName, "sk-tenant-two-wrong")
		},
	})
	e := &env{srv: srv, client: inferencev1.NewInferenceServiceClient(srv.Dial(t, "edge"))}
	chat := func(tenant, model string) error {
		_, err := e.client.ChatCompletion(e.ctx(t, principalFor(tenant, "k1")), &inferencev1.ChatCompletionRequest{Body: chatBody(model, "hello", "")})
		return err
	}

	require.NoError(t, chat("t1", "gpt-fake"))
	require.NoError(t, chat("t1", "gpt-fake"))
	require.NoError(t, chat("t1", "gpt-json"))
	require.Equal(t, int64(2), srv.Keyvault.Reads(), "one read per secret, then the cache")

	// Another tenant's secret is its own (here a key the upstream refuses);
	// a tenant without the secret gets 503, not someone else's key.
	for _, tenant := range []string{"t2", "t3"} {
		err := chat(tenant, "gpt-fake")
		require.Equal(t, codes.Unavailable, status.Code(err), "%v", err)
		require.NotContains(t, err.Error(), "sk-")
		require.NotContains(t, err.Error(), secretName)
	}

	// Rotation: the upstream and keyvault move to a new key. The cached old
	// key is refused once, which drops it; the next call reads the new one.
	fake.SetAPIKey("sk-tenant-one-v2")
	srv.Keyvault.Put("t1", secretName, "sk-tenant-one-v2")
	require.Equal(t, codes.Unavailable, status.Code(chat("t1", "gpt-fake")))
	require.NoError(t, chat("t1", "gpt-fake"))

	out := logs.String()
	require.Contains(t, out, secretName, "the operator sees which secret failed")
	for _, v := range []string{"sk-tenant-one-v1", "sk-tenant-one-v2", "sk-tenant-two-wrong"} {
		require.NotContains(t, out, v)
	}
}
