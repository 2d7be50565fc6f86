package openai_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/stretchr/testify/require"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/logging"
	"github.com/rampart-platform/rampart/services/edge/internal/authn"
	"github.com/rampart-platform/rampart/services/edge/internal/openai"
	"github.com/rampart-platform/rampart/services/inference/inferencetest"
)

// The model registry of the tests: the offline local models plus "gpt-fake"
// served by an OpenAI-compatible fake upstream, and "gpt-native" on the
// same upstream with /v1/responses forwarded to its own Responses API.
func models(upstream string) string {
	return `{
  "upstreams": {"fake": {"type": "openai", "base_url": "` + upstream + `/v1", "api_key_env": "RAMPART_TEST_UPSTREAM_KEY", "max_retries": -1}},
  "models": [
    {"id": "echo", "upstream": "local", "owned_by": "rampart"},
    {"id": "rampart-extractive", "upstream": "local", "owned_by": "rampart"},
    {"id": "rampart-hash-embed", "kind": "embedding", "upstream": "local", "owned_by": "rampart", "max_dimensions": 1024},
    {"id": "gpt-fake", "upstream": "fake", "upstream_model": "gpt-4o-mini", "input_usd_per_mtok": 0.15, "output_usd_per_mtok": 0.6},
    {"id": "gpt-native", "upstream": "fake", "upstream_model": "gpt-4.1", "responses_api": "native"},
    {"id": "text-embedding-fake", "kind": "embedding", "upstream": "fake", "upstream_model": "text-embedding-3-small"}
  ],
  "default": {"allowed_models": ["*"]}
}`
}

const toolPolicy = `{"default": {"tools": [
  {"name": "get_weather", "schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
  {"name": "delete_file", "requires_confirmation": true}
]}}`

// stack is edge (httptest) → inference (real gRPC over mTLS) → fake upstream.
type stack struct {
	URL         string
	upstreamURL string
	Upstream    *inferencetest.FakeOpenAI
	Inf         *inferencetest.Server
	mu          sync.RWMutex      // the race detector does not see ordering through sockets
	keys        map[string]string // bearer → assertion
	prins       map[string]*authv1.Principal
}

func newStack(t testing.TB) *stack {
	t.Helper()
	return newStackWith(t, nil)
}

// newStackWith runs inference with log (nil: discarded).
func newStackWith(t testing.TB, log *slog.Logger) *stack {
	t.Helper()
	return newStackOpts(t, log, openai.Options{})
}

// newStackOpts is newStackWith with handler options (Inference is set here).
func newStackOpts(t testing.TB, log *slog.Logger, o openai.Options) *stack {
	t.Helper()
	return newStackInf(t, log, o, nil)
}

// newStackInf is newStackOpts with inference's test options changed by
// inf (e.g. a fake keyvault for stored responses).
func newStackInf(t testing.TB, log *slog.Logger, o openai.Options, inf func(*inferencetest.Options)) *stack {
	t.Helper()
	fake := &inferencetest.FakeOpenAI{APIKey: "sk-upstream-secret"} //nolint:gosec // the fake upstream's test key
	up := httptest.NewServer(fake)
	t.Cleanup(up.Close)
	t.Setenv("RAMPART_TEST_UPSTREAM_KEY", "sk-upstream-secret")
	io := inferencetest.Options{Models: []byte(models(up.URL)), ToolPolicy: []byte(toolPolicy), Logger: log}
	if inf != nil {
		inf(&io)
	}
	srv0 := inferencetest.Start(t, io)
	conn := srv0.Dial(t, "edge")

	s := &stack{Upstream: fake, upstreamURL: up.URL, Inf: srv0, keys: map[string]string{}, prins: map[string]*authv1.Principal{}}
	mux := runtime.NewServeMux()
	o.Inference = conn
	require.NoError(t, openai.Register(mux, openai.New(o)))
	srv := httptest.NewServer(s.auth(mux))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// AddKey registers a bearer token acting for p (the test's stand-in for
// the edge's authn middleware, which is tested on its own).
func (s *stack) AddKey(t testing.TB, bearer string, p *authv1.Principal) {
	t.Helper()
	if p.Limits == nil {
		p.Limits = &authv1.Limits{}
	}
	if len(p.Scopes) == 0 {
		p.Scopes = []string{"chat:write", "embeddings:write", "usage:read"}
	}
	a := s.Inf.Assertion(t, p)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[bearer] = a
	s.prins[bearer] = p
}

func (s *stack) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := logging.WithRequestID(r.Context(), "req-test")
		bearer := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		s.mu.RLock()
		a, ok := s.keys[bearer]
		p := s.prins[bearer]
		s.mu.RUnlock()
		if ok {
			ctx = authn.NewContext(ctx, p, a)
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}
