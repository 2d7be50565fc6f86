package router_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/stretchr/testify/require"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/authtest"
	pkgbackend "github.com/rampart-platform/rampart/pkg/backend"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/openaitest"
	"github.com/rampart-platform/rampart/pkg/pki/pkitest"
	"github.com/rampart-platform/rampart/pkg/principal"
	"github.com/rampart-platform/rampart/services/edge/internal/authn"
	"github.com/rampart-platform/rampart/services/edge/internal/backend"
	"github.com/rampart-platform/rampart/services/edge/internal/gateway"
	"github.com/rampart-platform/rampart/services/edge/internal/ratelimit"
	"github.com/rampart-platform/rampart/services/edge/internal/router"
)

// edge is a full edge handler in front of an in-test AuthService over mTLS.
type edge struct {
	auth  *authtest.Server
	authn *authn.Authenticator
	url   string
}

type edgeOpts struct {
	limiter  ratelimit.Limiter
	defaults ratelimit.Defaults
	// mount registers extra routes on the gateway mux, where the edge's
	// OpenAI-compatible handlers live too.
	mount   func(*runtime.ServeMux)
	noWatch bool
	log     *slog.Logger // nil: discarded
	// signer mints auth's principal assertions (nil: a fresh key), so a
	// backend double can verify what the edge forwards.
	signer *principal.Signer
}

func newEdge(t testing.TB, o edgeOpts) *edge {
	t.Helper()
	dir, _ := pkitest.NewDir(t, "auth", "edge")
	auth := authtest.StartWith(t, dir, authtest.Options{Signer: o.signer})
	src, err := mtls.NewSource(mtls.FilesFor(dir, "edge"))
	require.NoError(t, err)
	set, err := backend.Dial(t.Context(), &pkgbackend.Dialer{TLS: src}, []backend.Target{{Name: "auth", Addr: auth.Addr}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = set.Close() })

	a, err := authn.New(authn.Options{Client: authv1.NewAuthServiceClient(set.Conn("auth")), Logger: testLogger(t)})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if !o.noWatch {
			_ = a.Watch(ctx)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	if !o.noWatch {
		require.Eventually(t, a.Synced, 30*time.Second, 5*time.Millisecond, "revocation stream never synced")
	}

	log := o.log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	gw := gateway.NewMux(log)
	require.NoError(t, gateway.Register(t.Context(), gw, gateway.Conns{Auth: set.Conn("auth")}))
	if o.mount != nil {
		o.mount(gw)
	}
	h := router.New(router.Options{
		Log: log, Authn: a, Limiter: o.limiter, LimitDefaults: o.defaults,
		Gateway: gw, OpenAPI: []byte(`{"swagger":"2.0"}`),
		Ready: func() error { return nil },
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &edge{auth: auth, authn: a, url: srv.URL}
}

// do sends a request with an optional bearer key.
func (e *edge) do(t testing.TB, method, path, key string, body io.Reader, hdr ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, e.url+path, body)
	require.NoError(t, err)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { _ = resp.Body.Close() }) // closing twice is harmless
	return resp
}

// readError checks the status and decodes the OpenAI-shaped error body.
func readError(t testing.TB, resp *http.Response, wantStatus int) openaitest.ErrorBody {
	t.Helper()
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, wantStatus, resp.StatusCode, "body: %s", raw)
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	var e openaitest.ErrorBody
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&e), "body: %s", raw)
	require.NotEmpty(t, e.Error.Message)
	require.NotEmpty(t, e.Error.Code)
	require.NotEmpty(t, e.Error.Type)
	return e
}

func readJSON(t testing.TB, resp *http.Response, wantStatus int) map[string]any {
	t.Helper()
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, wantStatus, resp.StatusCode, "body: %s", raw)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m), "body: %s", raw)
	return m
}

func tenantA() *authv1.Principal {
	return &authv1.Principal{TenantId: "t_alpha", Subject: "alice@example.com", Roles: []string{"admin"},
		Scopes: []string{"chat:write"}}
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
