package authz_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/rampart-platform/rampart/pkg/authz"
	"github.com/rampart-platform/rampart/pkg/grpctest"
	"github.com/rampart-platform/rampart/pkg/pki"
	"github.com/rampart-platform/rampart/pkg/pki/pkitest"
)

const (
	verifyKey = "/rampart.auth.v1.AuthService/VerifyKey"
	createKey = "/rampart.auth.v1.AuthService/CreateKey"
	notListed = "/rampart.auth.v1.AuthService/DeleteEverything"
	watch     = "/rampart.auth.v1.AuthService/Watch"
	keyGet    = "/rampart.auth.v1.KeyService/Get"
	// keyForbidden is allowed by the policy, but its handler refuses.
	keyForbidden = "/rampart.auth.v1.KeyService/Forbidden"
)

const testPolicy = `{"rules":[
  {"methods":["/rampart.auth.v1.AuthService/VerifyKey","/rampart.auth.v1.AuthService/Watch"],"callers":["spiffe://rampart.local/svc/edge"]},
  {"methods":["/rampart.auth.v1.AuthService/CreateKey"],"callers":["spiffe://rampart.local/svc/rampart-cli"]},
  {"methods":["/rampart.auth.v1.KeyService/*"],"callers":["*"]}
]}`

func TestCompile(t *testing.T) {
	tests := []struct {
		name    string
		policy  string
		want    string
		wantErr string
	}{
		{
			name:   "exact and wildcard",
			policy: `{"rules":[{"methods":["/a.v1.S/M","/b.v1.T/*"],"callers":["spiffe://rampart.local/svc/edge","*"]}]}`,
			want: `{"name":"rampart","allow_rules":[` +
				`{"name":"rule-0","source":{"principals":["spiffe://rampart.local/svc/edge","*"]},"request":{"paths":["/a.v1.S/M","/b.v1.T/*"]}},` +
				`{"name":"rule-1","source":{"principals":["*"]},"request":{"paths":["/grpc.health.v1.Health/*"]}},` +
				`{"name":"rule-2","source":{"principals":["spiffe://rampart.local/svc/rampart-cli"]},"request":{"paths":["/grpc.reflection.v1.ServerReflection/*","/grpc.reflection.v1alpha.ServerReflection/*"]}}]}`,
		},
		{name: "not JSON", policy: `rules`, wantErr: "invalid character"},
		{name: "unknown field", policy: `{"rule":[]}`, wantErr: "unknown field"},
		{name: "no rules", policy: `{"rules":[]}`, wantErr: "no rules"},
		{name: "no methods", policy: `{"rules":[{"callers":["*"]}]}`, wantErr: "no methods"},
		{name: "no callers", policy: `{"rules":[{"methods":["/a.S/M"]}]}`, wantErr: "no callers"},
		{name: "method without slash", policy: `{"rules":[{"methods":["a.S/M"],"callers":["*"]}]}`, wantErr: "is not /pkg.Service/Method"},
		{name: "method prefix wildcard", policy: `{"rules":[{"methods":["/a.S/Get*"],"callers":["*"]}]}`, wantErr: "is not /pkg.Service/Method"},
		{name: "everything wildcard", policy: `{"rules":[{"methods":["*"],"callers":["*"]}]}`, wantErr: "is not /pkg.Service/Method"},
		{name: "caller not spiffe", policy: `{"rules":[{"methods":["/a.S/M"],"callers":["edge"]}]}`, wantErr: "caller"},
		{name: "caller foreign trust domain", policy: `{"rules":[{"methods":["/a.S/M"],"callers":["spiffe://evil.example/svc/edge"]}]}`, wantErr: "trust domain"},
		{name: "caller prefix wildcard", policy: `{"rules":[{"methods":["/a.S/M"],"callers":["spiffe://rampart.local/*"]}]}`, wantErr: "caller"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := authz.Compile([]byte(tt.policy))
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.JSONEq(t, tt.want, got)
		})
	}
}

// register registers the methods the policy talks about, so the test needs
// no generated code. Every handler succeeds; only authz can refuse.
func register(s *grpc.Server) {
	unary := func(name string) grpc.MethodDesc {
		return grpc.MethodDesc{MethodName: name, Handler: func(_ any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
			in := new(emptypb.Empty)
			if err := dec(in); err != nil {
				return nil, err
			}
			h := func(context.Context, any) (any, error) { return &emptypb.Empty{}, nil }
			if ic == nil {
				return h(ctx, in)
			}
			return ic(ctx, in, &grpc.UnaryServerInfo{FullMethod: "/rampart.auth.v1.AuthService/" + name}, h)
		}}
	}
	s.RegisterService(&grpc.ServiceDesc{
		ServiceName: "rampart.auth.v1.AuthService",
		HandlerType: (*any)(nil),
		Methods:     []grpc.MethodDesc{unary("VerifyKey"), unary("CreateKey"), unary("DeleteEverything")},
		Streams: []grpc.StreamDesc{{StreamName: "Watch", ServerStreams: true, Handler: func(_ any, ss grpc.ServerStream) error {
			return ss.SendMsg(&emptypb.Empty{})
		}}},
	}, struct{}{})
	s.RegisterService(&grpc.ServiceDesc{
		ServiceName: "rampart.auth.v1.KeyService",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{
			{MethodName: "Get", Handler: func(_ any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
				if err := dec(new(emptypb.Empty)); err != nil {
					return nil, err
				}
				return ic(ctx, nil, &grpc.UnaryServerInfo{FullMethod: keyGet}, func(context.Context, any) (any, error) { return &emptypb.Empty{}, nil })
			}},
			{MethodName: "Forbidden", Handler: func(_ any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
				if err := dec(new(emptypb.Empty)); err != nil {
					return nil, err
				}
				return ic(ctx, nil, &grpc.UnaryServerInfo{FullMethod: keyForbidden}, func(context.Context, any) (any, error) {
					return nil, status.Error(codes.PermissionDenied, "role viewer may not do this")
				})
			}},
		},
	}, struct{}{})
}

type env struct {
	t    *testing.T
	dir  string
	addr string
}

func start(t *testing.T, a *authz.Authorizer) *env {
	t.Helper()
	dir, ca := pkitest.NewDir(t, "auth", "edge", "rampart-cli", "ingestion")
	pkitest.Issue(t, ca, dir, "partner", pki.ClientID("partner"))
	srv := grpctest.NewMTLSServer(t, dir, "auth",
		grpc.ChainUnaryInterceptor(a.UnaryInterceptor), grpc.ChainStreamInterceptor(a.StreamInterceptor))
	register(srv)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	return &env{t: t, dir: dir, addr: grpctest.Serve(t, srv)}
}

func (e *env) conn(caller string) *grpc.ClientConn {
	return grpctest.Dial(e.t, e.dir, caller, e.addr, "auth")
}

func invoke(t *testing.T, conn *grpc.ClientConn, method string) error {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	switch method {
	case watch:
		s, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, method)
		if err != nil {
			return err
		}
		if err := s.SendMsg(&emptypb.Empty{}); err != nil {
			return err
		}
		if err := s.CloseSend(); err != nil {
			return err
		}
		return s.RecvMsg(new(emptypb.Empty))
	case "health":
		_, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		return err
	default:
		return conn.Invoke(ctx, method, &emptypb.Empty{}, new(emptypb.Empty))
	}
}

func TestInterceptors(t *testing.T) {
	a, err := authz.New([]byte(testPolicy))
	require.NoError(t, err)
	e := start(t, a)

	tests := []struct {
		caller string
		method string
		want   codes.Code
	}{
		{caller: "edge", method: verifyKey, want: codes.OK},
		{caller: "edge", method: watch, want: codes.OK},
		{caller: "edge", method: createKey, want: codes.PermissionDenied},
		{caller: "edge", method: notListed, want: codes.PermissionDenied},
		{caller: "rampart-cli", method: createKey, want: codes.OK},
		{caller: "rampart-cli", method: verifyKey, want: codes.PermissionDenied},
		{caller: "ingestion", method: verifyKey, want: codes.PermissionDenied},
		{caller: "ingestion", method: watch, want: codes.PermissionDenied},
		{caller: "partner", method: keyGet, want: codes.OK},
		{caller: "partner", method: verifyKey, want: codes.PermissionDenied},
		{caller: "ingestion", method: "health", want: codes.OK},
		{caller: "partner", method: "health", want: codes.OK},
		// Not registered at all: gRPC answers before any interceptor runs.
		{caller: "edge", method: "/rampart.auth.v1.AuthService/Nope", want: codes.Unimplemented},
	}
	for _, tt := range tests {
		t.Run(tt.caller+tt.method, func(t *testing.T) {
			err := invoke(t, e.conn(tt.caller), tt.method)
			require.Equal(t, tt.want, status.Code(err), "err: %v", err)
			if tt.want == codes.PermissionDenied {
				msg := status.Convert(err).Message()
				require.Contains(t, msg, tt.method)
				require.NotContains(t, msg, "spiffe://", "the denial must not reveal the policy")
			}
		})
	}
}

func TestHandlerPermissionDeniedIsNotRewritten(t *testing.T) {
	a, err := authz.New([]byte(testPolicy))
	require.NoError(t, err)
	e := start(t, a)
	err = invoke(t, e.conn("partner"), keyForbidden)
	require.Equal(t, codes.PermissionDenied, status.Code(err))
	require.Equal(t, "role viewer may not do this", status.Convert(err).Message())
}

func TestFromFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.json")
	write := func(p any) {
		b, ok := p.(string)
		if !ok {
			raw, err := json.Marshal(p)
			require.NoError(t, err)
			b = string(raw)
		}
		require.NoError(t, os.WriteFile(path, []byte(b), 0o644))
	}
	write(authz.Policy{Rules: []authz.Rule{{Methods: []string{verifyKey}, Callers: []string{pki.ServiceID("edge")}}}})

	a, err := authz.FromFile(path, 10*time.Millisecond, nil)
	require.NoError(t, err)
	t.Cleanup(a.Close)
	e := start(t, a)
	edge, ingestion := e.conn("edge"), e.conn("ingestion")

	require.NoError(t, invoke(t, edge, verifyKey))
	require.Equal(t, codes.PermissionDenied, status.Code(invoke(t, ingestion, verifyKey)))

	// Hot reload: ingestion is added without a restart.
	write(authz.Policy{Rules: []authz.Rule{{Methods: []string{verifyKey}, Callers: []string{pki.ServiceID("edge"), pki.ServiceID("ingestion")}}}})
	require.Eventually(t, func() bool { return invoke(t, ingestion, verifyKey) == nil }, 30*time.Second, 20*time.Millisecond)

	// A broken edit keeps the last good policy.
	write(`{"rules":[{"methods":["oops"]}]}`)
	time.Sleep(100 * time.Millisecond)
	require.NoError(t, invoke(t, ingestion, verifyKey))
	require.NoError(t, invoke(t, edge, verifyKey))
}

func TestFromFileErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{}`), 0o644))
	tests := []struct {
		name    string
		path    string
		refresh time.Duration
	}{
		{name: "missing", path: filepath.Join(dir, "missing.json"), refresh: time.Second},
		{name: "invalid", path: bad, refresh: time.Second},
		{name: "zero refresh", path: bad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := authz.FromFile(tt.path, tt.refresh, nil)
			require.Error(t, err)
		})
	}
}

// TestAllowCache: allow decisions are remembered per connection and
// method only. On one connection, a method allowed (and cached) does not
// open another method, unary or streaming, and a reloaded policy that
// revokes the caller takes effect on the same connection at once.
func TestAllowCache(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.json")
	write := func(callers ...string) {
		raw, err := json.Marshal(authz.Policy{Rules: []authz.Rule{{Methods: []string{verifyKey, watch}, Callers: callers}}})
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(path, raw, 0o644))
	}
	write(pki.ServiceID("edge"))
	a, err := authz.FromFile(path, 10*time.Millisecond, nil)
	require.NoError(t, err)
	t.Cleanup(a.Close)
	e := start(t, a)
	edge, partner := e.conn("edge"), e.conn("partner")
	for range 3 {
		require.NoError(t, invoke(t, edge, verifyKey))
		require.NoError(t, invoke(t, edge, watch))
		require.Equal(t, codes.PermissionDenied, status.Code(invoke(t, edge, createKey)))
		require.Equal(t, codes.PermissionDenied, status.Code(invoke(t, partner, verifyKey)))
	}
	write(pki.ServiceID("ingestion"))
	require.Eventually(t, func() bool {
		return status.Code(invoke(t, edge, verifyKey)) == codes.PermissionDenied
	}, 30*time.Second, 20*time.Millisecond)
	require.Equal(t, codes.PermissionDenied, status.Code(invoke(t, edge, watch)))
}
