package openai_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/stretchr/testify/require"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	"github.com/rampart-platform/rampart/pkg/grpctest"
	"github.com/rampart-platform/rampart/pkg/inferencetest"
	"github.com/rampart-platform/rampart/pkg/logging"
	"github.com/rampart-platform/rampart/pkg/principal"
	"github.com/rampart-platform/rampart/services/edge/internal/authn"
	"github.com/rampart-platform/rampart/services/edge/internal/openai"
)

// The edge's OpenAI handlers forward bodies to inference and write back
// what it answers; these tests run them against pkg/inferencetest, the
// inference double (a real gRPC server over mTLS that records each call and
// answers as scripted). What inference does with a body (validation,
// models, tools, limits, stored responses) is tested in inference and,
// behind the real edge, in tests/e2e/openai_conformance_test.go.

// models are the models the double offers every tenant.
var models = []*inferencev1.Model{
	{Id: "echo", OwnedBy: "rampart"}, {Id: "gpt-fake", OwnedBy: "fake"}, {Id: "gpt-native", OwnedBy: "fake"},
	{Id: "rampart-extractive", OwnedBy: "rampart"}, {Id: "rampart-hash-embed", OwnedBy: "rampart"}, {Id: "text-embedding-fake", OwnedBy: "fake"},
}

// stack is edge (httptest) → inference double (gRPC over mTLS).
type stack struct {
	URL    string
	Inf    *inferencetest.Server
	conn   inferencev1.InferenceServiceClient // the edge's connection, for direct calls
	signer *principal.Signer
	mu     sync.RWMutex      // the race detector does not see ordering through sockets
	keys   map[string]string // bearer → assertion
	prins  map[string]*authv1.Principal
}

func newStack(t testing.TB) *stack {
	t.Helper()
	return newStackOpts(t, openai.Options{})
}

// newStackWith runs the handlers with log (nil: discarded).
func newStackWith(t testing.TB, log *slog.Logger) *stack {
	t.Helper()
	return newStackOpts(t, openai.Options{Log: log})
}

// newStackOpts is newStack with handler options (Inference is set here).
func newStackOpts(t testing.TB, o openai.Options) *stack {
	t.Helper()
	fx := grpctest.NewFixture(t, "inference", "edge")
	inf := inferencetest.Start(t, fx.Dir, inferencetest.Options{Keys: fx.Keys(), Callers: []string{"edge"}, Models: models})
	conn := fx.Dial(t, "edge", inf.Addr, "inference")

	s := &stack{Inf: inf, conn: inferencev1.NewInferenceServiceClient(conn), signer: fx.Signer,
		keys: map[string]string{}, prins: map[string]*authv1.Principal{}}
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
	a, err := s.signer.Sign(p, time.Time{})
	require.NoError(t, err)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[bearer] = a
	s.prins[bearer] = p
}

// assertion returns the assertion AddKey minted for bearer.
func (s *stack) assertion(bearer string) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.keys[bearer]
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

func sdk(s *stack, key string) *oai.Client {
	c := oai.NewClient(option.WithBaseURL(s.URL+"/v1/"), option.WithAPIKey(key), option.WithMaxRetries(0))
	return &c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

type response struct {
	status int
	header http.Header
	bytes  []byte
}

// call sends body (if any) to path with the bearer key.
func call(t *testing.T, s *stack, method, key, path, body string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx(t), method, s.URL+path, rd)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{status: resp.StatusCode, header: resp.Header, bytes: b}
}

func post(t *testing.T, s *stack, key, path, body string) response {
	t.Helper()
	return call(t, s, http.MethodPost, key, path, body)
}
