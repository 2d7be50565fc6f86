package router_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/permissions"
	"github.com/rampart-platform/rampart/services/edge/internal/gateway"
	"github.com/rampart-platform/rampart/services/edge/internal/router"
)

// rpcRecorder stands for every backend: it remembers the gRPC methods the
// gateway called and answers Unavailable.
type rpcRecorder struct {
	mu    sync.Mutex
	calls []string
}

func (c *rpcRecorder) Invoke(_ context.Context, method string, _, _ any, _ ...grpc.CallOption) error {
	c.record(method)
	return status.Error(codes.Unavailable, "recorded")
}

func (c *rpcRecorder) NewStream(_ context.Context, _ *grpc.StreamDesc, method string, _ ...grpc.CallOption) (grpc.ClientStream, error) {
	c.record(method)
	return nil, status.Error(codes.Unavailable, "recorded")
}

func (c *rpcRecorder) record(m string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, m)
}

func (c *rpcRecorder) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.calls
	c.calls = nil
	return out
}

// spellings are raw request paths that decode (or not) to variants of p:
// p itself, each ':' and each '/' escaped in turn, and each byte
// percent-encoded in turn. The policy matches the decoded path; the
// gateway mux matches the raw one in its own way.
func spellings(p string) []string {
	out := []string{p}
	for i := 1; i < len(p); i++ {
		switch p[i] {
		case ':':
			out = append(out, p[:i]+"%3A"+p[i+1:], p[:i]+"%3a"+p[i+1:])
		case '/':
			out = append(out, p[:i]+"%2F"+p[i+1:])
		}
		out = append(out, p[:i]+fmt.Sprintf("%%%02X", p[i])+p[i+1:])
	}
	if strings.Contains(p, ":") {
		out = append(out, strings.ReplaceAll(p, ":", "%3A"))
	}
	return out
}

// TestPolicyAndMuxAgreeOnEveryRoute (escalation review 2026-12-06): the
// edge decides scopes, role and tenant binding from the permission table
// on the decoded path, and the gateway mux dispatches on the raw path. If
// an escaped spelling made the two disagree, a request authorized as one
// route would reach another route's RPC. For every gateway route of the
// table, filled with ordinary and slash-bearing parameters, and every
// escaped spelling of its path, sent through the real router with an owner
// key holding scope admin: whatever RPC the request reaches must be the RPC
// of the route the policy matched.
func TestPolicyAndMuxAgreeOnEveryRoute(t *testing.T) {
	rec := &rpcRecorder{}
	base := newEdge(t, edgeOpts{})
	gw := gateway.NewMux(slog.New(slog.DiscardHandler))
	require.NoError(t, gateway.Register(t.Context(), gw, gateway.Conns{Auth: rec, Keyvault: rec, Inference: rec, Ingestion: rec, SlackAdapter: rec}))
	h := router.New(router.Options{Log: slog.New(slog.DiscardHandler), Authn: base.authn, Gateway: gw, OpenAPI: []byte(`{}`),
		Ready: func() error { return nil }})
	key := base.auth.AddKey(t, &authv1.Principal{TenantId: "t1", Subject: "root@t1", Roles: []string{"owner"}, Scopes: []string{"admin"}})
	table := permissions.Default()

	var sent, reached int
	for _, r := range table.Routes() {
		if r.RPC == "" || r.Method == "" {
			continue // answered by the edge itself or relayed as HTTP
		}
		for _, v := range []string{"p1", "a/b/c/d"} {
			params := map[string]string{}
			for _, p := range r.Params() {
				params[p] = v
			}
			for _, raw := range spellings(r.Path(params)) {
				req := httptest.NewRequestWithContext(t.Context(), r.Method, raw, strings.NewReader(`{}`))
				req.Header.Set("Authorization", "Bearer "+key)
				req.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				sent++
				calls := rec.take()
				if len(calls) == 0 {
					continue
				}
				reached++
				matched, _ := table.Match(req.Method, req.URL.Path)
				require.NotNil(t, matched, "%s %s reached %v although the policy matched no route", r.Method, raw, calls)
				for _, c := range calls {
					require.Equal(t, matched.RPC, c, "%s %s: the policy authorized %s, the mux called %s", r.Method, raw, matched.Key(), c)
				}
			}
		}
	}
	t.Logf("%d requests, %d reached a backend, each the RPC of the route the policy matched", sent, reached)
	require.Greater(t, reached, 100)
}
