package app

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/authtest"
	pkgbackend "github.com/rampart-platform/rampart/pkg/backend"
	"github.com/rampart-platform/rampart/pkg/pki/pkitest"
	"github.com/rampart-platform/rampart/services/edge/internal/config"
	"github.com/rampart-platform/rampart/services/edge/internal/wirecheck/wiretest"
)

func TestServeLifecycle(t *testing.T) {
	dir, _ := pkitest.NewDir(t, "auth", "edge")
	auth := authtest.Start(t, dir)
	key := auth.AddKey(t, &authv1.Principal{TenantId: "t_life", Roles: []string{"owner"}, Scopes: []string{"admin"}})

	cfg := config.Defaults()
	cfg.CertDir = dir
	cfg.DataDir = t.TempDir()
	cfg.AuthAddr = auth.Addr
	for _, p := range []*string{&cfg.KeyvaultAddr, &cfg.InferenceAddr, &cfg.IngestionAddr, &cfg.SlackAdapterAddr} {
		*p = config.Disabled
	}
	cfg.KeyCacheTTL, cfg.KeyCacheSize = 30*time.Second, 100
	cfg.ReadHeaderTimeout, cfg.ReadTimeout, cfg.IdleTimeout = time.Second, 5*time.Second, 5*time.Second
	cfg.RequestTimeout, cfg.StreamTimeout, cfg.ShutdownTimeout = 5*time.Second, 5*time.Second, 5*time.Second
	cfg.DrainDelay = 300 * time.Millisecond
	pub, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	adm, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	cfg.AdminAddr = adm.Addr().String()
	require.NoError(t, cfg.Validate())

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- serveForTest(ctx, cfg, &Listeners{Public: pub, Admin: adm, Ready: ready})
	}()
	base := "http://" + <-ready
	adminURL := "http://" + cfg.AdminAddr

	get := func(url, key string) (int, string) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
		require.NoError(t, err)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	require.Eventually(t, func() bool { c, _ := get(adminURL+"/readyz", ""); return c == 200 }, 30*time.Second, 10*time.Millisecond)
	require.NoError(t, Run(t.Context(), []string{"healthcheck", "-admin-addr", cfg.AdminAddr}))

	code, body := get(base+"/v1/whoami", key)
	require.Equal(t, 200, code, body)
	require.Contains(t, body, `"tenant_id":"t_life"`)
	code, body = get(base+"/v1/whoami", "")
	require.Equal(t, 401, code)
	require.Contains(t, body, `"type":"authentication_error"`)
	code, body = get(base+"/v1/secrets/x:value", key)
	require.Equal(t, 503, code, "keyvault is switched off: %s", body)
	code, body = get(adminURL+"/metrics", "")
	require.Equal(t, 200, code)
	require.Contains(t, body, "rampart_edge_http_requests_total")
	require.NotContains(t, body, key)

	// The public listener refuses the framing net/http alone accepts.
	raw := func(req string) string {
		return wiretest.StatusLine(t, func() (net.Conn, error) { return net.Dial("tcp", pub.Addr().String()) }, req)
	}
	require.Equal(t, "HTTP/1.1 200 OK\r\n", raw("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))
	require.Equal(t, "HTTP/1.1 400 Bad Request\r\n", raw("GET /healthz HTTP/1.1\r\nHost: x\nX-A: 1\r\n\r\n"))
	require.Equal(t, "HTTP/1.1 400 Bad Request\r\n", raw("GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n"))

	// Shutdown: readiness goes false first, then the listeners close.
	cancel()
	require.Eventually(t, func() bool { c, _ := get(adminURL+"/readyz", ""); return c == 503 }, 30*time.Second, 10*time.Millisecond)
	require.Error(t, Run(t.Context(), []string{"healthcheck", "-admin-addr", cfg.AdminAddr}))
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not return after shutdown")
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	t.Setenv("RAMPART_EDGE_KEY_CACHE_TTL", "5m")
	t.Setenv("RAMPART_EDGE_CORS_ORIGINS", "*")
	err := Run(t.Context(), nil)
	require.Error(t, err)
	require.ErrorContains(t, err, "KEY_CACHE_TTL")
	require.ErrorContains(t, err, "CORS_ORIGINS")
}

func TestRunHelp(t *testing.T) {
	require.NoError(t, Run(t.Context(), []string{"-h"}), "-h prints the usage and is no error")
}

// serveForTest runs the edge on cfg (already validated) and the test's
// listeners, through the same lifecycle as Run.
func serveForTest(ctx context.Context, cfg config.Config, lis *Listeners) error {
	return pkgbackend.ServeHTTP(ctx, Spec, &cfg, slog.New(slog.DiscardHandler), func(ctx context.Context, env *pkgbackend.Env) error {
		return New(ctx, cfg, env, lis)
	})
}
