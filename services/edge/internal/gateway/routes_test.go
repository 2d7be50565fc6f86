package gateway

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rampart-platform/rampart/pkg/permissions"
)

// recordingConn stands for every backend: it remembers the gRPC method a
// request reached and answers Unavailable.
type recordingConn struct {
	mu   sync.Mutex
	last string
}

func (c *recordingConn) Invoke(_ context.Context, method string, _, _ any, _ ...grpc.CallOption) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last = method
	return status.Error(codes.Unavailable, "recorded")
}

func (c *recordingConn) NewStream(_ context.Context, _ *grpc.StreamDesc, method string, _ ...grpc.CallOption) (grpc.ClientStream, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last = method
	return nil, status.Error(codes.Unavailable, "recorded")
}

func (c *recordingConn) take() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.last
	c.last = ""
	return m
}

// TestEveryRouteReachesItsRPC: every route of the permission table served
// by the gateway mux reaches the gRPC method the table names. The order in
// which Register adds the services (a speed choice) must not change which
// handler answers a path.
func TestEveryRouteReachesItsRPC(t *testing.T) {
	conn := &recordingConn{}
	mux := NewMux(slog.New(slog.DiscardHandler))
	require.NoError(t, Register(t.Context(), mux, Conns{Auth: conn, Keyvault: conn, Inference: conn, Ingestion: conn, SlackAdapter: conn}))
	var checked int
	for _, r := range permissions.Default().Routes() {
		if r.RPC == "" || r.Method == "" {
			continue // answered by the edge itself or relayed as HTTP
		}
		t.Run(r.Key(), func(t *testing.T) {
			params := map[string]string{}
			for _, p := range r.Params() {
				params[p] = "p1"
			}
			var body io.Reader
			if r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch {
				body = strings.NewReader(`{}`)
			}
			req := httptest.NewRequestWithContext(t.Context(), r.Method, r.Path(params), body)
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			got := conn.take()
			if got == "" && rec.Code == http.StatusNotFound {
				t.Skipf("not a gateway route (the OpenAI routes are registered by internal/openai): %s", r.Key())
			}
			require.Equal(t, r.RPC, got, "%s %s answered %d: %s", r.Method, r.Path(params), rec.Code, rec.Body.String())
			checked++
		})
	}
	require.Greater(t, checked, 50, "the table's gateway routes were checked")
}
