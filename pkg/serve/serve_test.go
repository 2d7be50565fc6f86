package serve_test

import (
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/pkg/logging"
	"github.com/rampart-platform/rampart/pkg/logging/logtest"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/pki"
	"github.com/rampart-platform/rampart/pkg/pki/pkitest"
	"github.com/rampart-platform/rampart/pkg/serve"
)

const policy = `{"rules":[{"methods":["/rampart.test.v1.Test/*"],"callers":["spiffe://rampart.local/svc/edge"]}]}`

type fixture struct {
	t      *testing.T
	dir    string
	ca     *pki.CA
	srv    *serve.Server
	logs   *logtest.Buffer
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, mutate func(*serve.Options)) *fixture {
	t.Helper()
	dir, ca := pkitest.NewDir(t, "auth", "edge", "ingestion", "rampart-cli")
	src, err := mtls.NewSource(mtls.FilesFor(dir, "auth"))
	require.NoError(t, err)
	logs := &logtest.Buffer{}
	opts := serve.Options{
		Name:        "auth",
		ListenAddr:  "127.0.0.1:0",
		AdminAddr:   "127.0.0.1:0",
		TLS:         src,
		AuthzPolicy: []byte(policy),
		Logger:      logging.New(logs, slog.LevelDebug),
		DrainDelay:  -1,
	}
	if mutate != nil {
		mutate(&opts)
	}
	srv, err := serve.New(opts)
	require.NoError(t, err)
	registerTestService(srv.GRPC(), srv.Draining())

	ctx, cancel := context.WithCancel(context.Background())
	f := &fixture{t: t, dir: dir, ca: ca, srv: srv, logs: logs, cancel: cancel, done: make(chan error, 1)}
	go func() { f.done <- srv.Run(ctx) }()
	t.Cleanup(func() { _ = f.stop() })
	require.Eventually(t, func() bool { code, _ := f.admin("/readyz"); return code == http.StatusOK },
		10*time.Second, 5*time.Millisecond, "server never became ready")
	return f
}

// stop cancels Run and returns its result (once; later calls return nil).
func (f *fixture) stop() error {
	f.cancel()
	select {
	case err, ok := <-f.done:
		if ok {
			close(f.done)
		}
		return err
	case <-time.After(30 * time.Second):
		f.t.Fatal("Run did not return")
		return nil
	}
}

func (f *fixture) source(name string) *mtls.Source {
	src, err := mtls.NewSource(mtls.FilesFor(f.dir, name))
	require.NoError(f.t, err)
	return src
}

func (f *fixture) dial(creds credentials.TransportCredentials) *grpc.ClientConn {
	conn, err := grpc.NewClient(f.srv.Addr().String(), grpc.WithTransportCredentials(creds))
	require.NoError(f.t, err)
	f.t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func (f *fixture) client(name string) *grpc.ClientConn {
	return f.dial(mtls.ClientCredentials(f.source(name), pki.ServiceID("auth")))
}

func (f *fixture) admin(path string) (int, string) {
	resp, err := http.Get("http://" + f.srv.AdminAddr().String() + path)
	require.NoError(f.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(f.t, err)
	return resp.StatusCode, string(body)
}

func invoke(ctx context.Context, conn *grpc.ClientConn, method, in string, opts ...grpc.CallOption) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out := new(wrapperspb.StringValue)
	err := conn.Invoke(ctx, method, wrapperspb.String(in), out, opts...)
	return out.GetValue(), err
}

func TestCallers(t *testing.T) {
	f := start(t, nil)
	pkitest.IssueExpired(t, f.ca, f.dir, "expired", pki.ServiceID("edge"))
	otherDir, _ := pkitest.NewDir(t, "edge")
	caPEM, err := os.ReadFile(filepath.Join(f.dir, "ca.crt"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(otherDir, "ca.crt"), caPEM, 0o644)) //nolint:gosec // test temp dir: trusts our CA, holds a foreign cert
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)

	tests := []struct {
		name   string
		creds  func() credentials.TransportCredentials
		method string
		want   codes.Code
	}{
		{
			name: "allowed caller",
			creds: func() credentials.TransportCredentials {
				return mtls.ClientCredentials(f.source("edge"), pki.ServiceID("auth"))
			},
			method: echoMethod,
			want:   codes.OK,
		},
		{
			name: "no client certificate",
			creds: func() credentials.TransportCredentials {
				return credentials.NewTLS(&tls.Config{RootCAs: roots, ServerName: "localhost", MinVersion: tls.VersionTLS13})
			},
			method: echoMethod,
			want:   codes.Unavailable,
		},
		{
			name: "certificate from another CA",
			creds: func() credentials.TransportCredentials {
				src, err := mtls.NewSource(mtls.FilesFor(otherDir, "edge"))
				require.NoError(t, err)
				return mtls.ClientCredentials(src, pki.ServiceID("auth"))
			},
			method: echoMethod,
			want:   codes.Unavailable,
		},
		{
			name: "expired certificate",
			creds: func() credentials.TransportCredentials {
				return mtls.ClientCredentials(f.source("expired"), pki.ServiceID("auth"))
			},
			method: echoMethod,
			want:   codes.Unavailable,
		},
		{
			name: "caller not on the allow-list",
			creds: func() credentials.TransportCredentials {
				return mtls.ClientCredentials(f.source("ingestion"), pki.ServiceID("auth"))
			},
			method: echoMethod,
			want:   codes.PermissionDenied,
		},
		{
			name: "health is open to every verified peer",
			creds: func() credentials.TransportCredentials {
				return mtls.ClientCredentials(f.source("ingestion"), pki.ServiceID("auth"))
			},
			method: "health",
			want:   codes.OK,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := f.dial(tt.creds())
			var err error
			if tt.method == "health" {
				var resp *healthpb.HealthCheckResponse
				resp, err = healthpb.NewHealthClient(conn).Check(t.Context(), &healthpb.HealthCheckRequest{})
				if err == nil {
					require.Equal(t, healthpb.HealthCheckResponse_SERVING, resp.GetStatus())
				}
			} else {
				var out string
				out, err = invoke(t.Context(), conn, tt.method, "hi")
				if err == nil {
					require.Equal(t, "hi", out)
				}
			}
			require.Equal(t, tt.want, status.Code(err), "err: %v", err)
			if tt.want == codes.PermissionDenied {
				require.Contains(t, status.Convert(err).Message(), tt.method)
			}
		})
	}
}

func TestCertificateRenewalWithoutRestart(t *testing.T) {
	f := start(t, nil)
	serial := func() string {
		var p peer.Peer
		_, err := invoke(t.Context(), f.client("edge"), echoMethod, "x", grpc.Peer(&p))
		require.NoError(t, err)
		info, ok := p.AuthInfo.(credentials.TLSInfo)
		require.True(t, ok)
		return info.State.PeerCertificates[0].SerialNumber.String()
	}
	before := serial()
	pkitest.Service(t, f.ca, f.dir, "auth") // new key pair and serial on disk

	// The server checks its files at most once a second, on handshake.
	var after string
	require.Eventually(t, func() bool {
		after = serial()
		return after != before
	}, 10*time.Second, 200*time.Millisecond)
	require.NotEqual(t, before, after)
}

func TestErrorsDoNotLeak(t *testing.T) {
	f := start(t, nil)
	conn := f.client("edge")
	tests := []struct {
		name      string
		method    string
		wantCode  codes.Code
		wantMsg   string
		secret    string
		wantInLog []string
	}{
		{name: "panic", method: panicMethod, wantCode: codes.Internal, wantMsg: "internal error", secret: panicSecret,
			wantInLog: []string{"panic in handler", panicSecret, "goroutine", `"request_id":"req-panic"`}},
		{name: "unknown error", method: failMethod, wantCode: codes.Internal, wantMsg: "internal error", secret: failDetail,
			wantInLog: []string{failDetail, `"request_id":"req-unknown-error"`}},
		{name: "invalid argument names the field", method: badMethod, wantCode: codes.InvalidArgument, wantMsg: "value: must not be empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := metadata.AppendToOutgoingContext(t.Context(), serve.RequestIDHeader, "req-"+strings.ReplaceAll(tt.name, " ", "-"))
			_, err := invoke(ctx, conn, tt.method, "")
			require.Equal(t, tt.wantCode, status.Code(err))
			require.Equal(t, tt.wantMsg, status.Convert(err).Message())
			if tt.secret != "" {
				require.NotContains(t, err.Error(), tt.secret)
			}
			if tt.wantCode == codes.InvalidArgument {
				v := grpcerr.FieldViolations(err)
				require.Len(t, v, 1)
				require.Equal(t, "value", v[0].GetField())
			}
			for _, s := range tt.wantInLog {
				require.Contains(t, f.logs.String(), s)
			}
		})
	}
}

func TestRequestID(t *testing.T) {
	f := start(t, nil)
	conn := f.client("edge")
	tests := []struct {
		name     string
		incoming string
		wantSame bool
	}{
		{name: "propagated", incoming: "edge-7f3a9c", wantSame: true},
		{name: "generated when absent"},
		{name: "replaced when unsafe", incoming: `x" "forged":"true`},
		{name: "replaced when too long", incoming: strings.Repeat("a", 200)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			if tt.incoming != "" {
				ctx = metadata.AppendToOutgoingContext(ctx, serve.RequestIDHeader, tt.incoming)
			}
			var header metadata.MD
			got, err := invoke(ctx, conn, reqIDMethod, "", grpc.Header(&header))
			require.NoError(t, err)
			if tt.wantSame {
				require.Equal(t, tt.incoming, got)
				require.Empty(t, header.Get(serve.RequestIDHeader), "not echoed: the caller knows its id")
			} else {
				require.Regexp(t, `^[0-9a-f]{32}$`, got)
				require.Equal(t, []string{got}, header.Get(serve.RequestIDHeader), "the id chosen here is echoed in the response header")
			}
		})
	}
}

// Streams follow the same rule as unary calls: the id is echoed in the
// response header only when the server made it up.
func TestRequestIDStreamEcho(t *testing.T) {
	f := start(t, nil)
	conn := f.client("edge")
	tests := []struct {
		name     string
		incoming string
		wantEcho bool
	}{
		{name: "caller's id not echoed", incoming: "edge-stream-1"},
		{name: "generated id echoed", wantEcho: true},
		{name: "replaced id echoed", incoming: `bad"id`, wantEcho: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tt.incoming != "" {
				ctx = metadata.AppendToOutgoingContext(ctx, serve.RequestIDHeader, tt.incoming)
			}
			stream, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, watchMethod)
			require.NoError(t, err)
			require.NoError(t, stream.SendMsg(wrapperspb.String("")))
			require.NoError(t, stream.CloseSend())
			require.NoError(t, stream.RecvMsg(new(wrapperspb.StringValue)))
			header, err := stream.Header()
			require.NoError(t, err)
			got := header.Get(serve.RequestIDHeader)
			if !tt.wantEcho {
				require.Empty(t, got)
				return
			}
			require.Len(t, got, 1)
			require.Regexp(t, `^[0-9a-f]{32}$`, got[0])
		})
	}
}

func TestRequestIDForwarded(t *testing.T) {
	f := start(t, nil)
	conn, err := mtls.Dial(t.Context(), f.srv.Addr().String(), f.source("edge"), pki.ServiceID("auth"), serve.RequestIDDialOptions()...)
	require.NoError(t, err)
	defer conn.Close()
	got, err := invoke(logging.WithRequestID(t.Context(), "from-upstream"), conn, reqIDMethod, "")
	require.NoError(t, err)
	require.Equal(t, "from-upstream", got)
}

// An id the caller put in the outgoing metadata itself (appended or as
// metadata.NewOutgoingContext) is sent as it is, not replaced by the
// context's.
func TestRequestIDExplicitWins(t *testing.T) {
	f := start(t, nil)
	conn, err := mtls.Dial(t.Context(), f.srv.Addr().String(), f.source("edge"), pki.ServiceID("auth"), serve.RequestIDDialOptions()...)
	require.NoError(t, err)
	defer conn.Close()
	base := logging.WithRequestID(t.Context(), "from-context")
	for name, ctx := range map[string]context.Context{
		"appended": metadata.AppendToOutgoingContext(base, serve.RequestIDHeader, "explicit-appended"),
		"new":      metadata.NewOutgoingContext(base, metadata.Pairs(serve.RequestIDHeader, "explicit-new")),
	} {
		got, err := invoke(ctx, conn, reqIDMethod, "")
		require.NoError(t, err, name)
		require.Equal(t, "explicit-"+name, got)
	}
}

func TestAccessLogHasNoPayload(t *testing.T) {
	f := start(t, nil)
	_, err := invoke(t.Context(), f.client("edge"), echoMethod, "payload-canary")
	require.NoError(t, err)
	logs := f.logs.String()
	require.Contains(t, logs, `"method":"/rampart.test.v1.Test/Echo"`)
	require.Contains(t, logs, `"code":"OK"`)
	require.Contains(t, logs, `"duration_us"`)
	require.Contains(t, logs, `"caller":"spiffe://rampart.local/svc/edge"`)
	require.NotContains(t, logs, "payload-canary")
}

func TestAdminEndpoints(t *testing.T) {
	f := start(t, func(o *serve.Options) { o.Reflection = true })
	_, err := invoke(t.Context(), f.client("edge"), echoMethod, "x")
	require.NoError(t, err)

	code, _ := f.admin("/healthz")
	require.Equal(t, http.StatusOK, code)
	code, _ = f.admin("/readyz")
	require.Equal(t, http.StatusOK, code)
	code, body := f.admin("/metrics")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, `grpc_server_handled_total{grpc_code="OK",grpc_method="Echo",grpc_service="rampart.test.v1.Test",grpc_type="unary"} 1`)
	require.Contains(t, body, "go_goroutines")

	require.Contains(t, f.srv.GRPC().GetServiceInfo(), "grpc.reflection.v1.ServerReflection")
}

func TestAdminPprof(t *testing.T) {
	tests := []struct {
		name  string
		pprof bool
		want  int
	}{
		{"off by default", false, http.StatusNotFound},
		{"opt-in", true, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := start(t, func(o *serve.Options) { o.Pprof = tt.pprof })
			code, body := f.admin("/debug/pprof/heap?debug=1")
			require.Equal(t, tt.want, code)
			if tt.pprof {
				require.Contains(t, body, "heap profile")
			}
		})
	}
}

// TestAdminPprofContention: contention is sampled only while a mutex or
// block profile is being taken (ADR 0061), and such a profile sees the
// contention of its window.
func TestAdminPprofContention(t *testing.T) {
	f := start(t, func(o *serve.Options) { o.Pprof = true })
	require.Equal(t, 0, runtime.SetMutexProfileFraction(-1), "not sampled while no profile is taken")

	stop := make(chan struct{})
	go func() { // a contended mutex for the window
		var mu sync.Mutex
		for {
			select {
			case <-stop:
				return
			default:
			}
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() { mu.Lock(); time.Sleep(50 * time.Microsecond); mu.Unlock() })
			}
			wg.Wait()
		}
	}()
	type result struct {
		code int
		body string
	}
	done := make(chan result, 1)
	go func() { code, body := f.admin("/debug/pprof/mutex?seconds=1"); done <- result{code, body} }()
	require.Eventually(t, func() bool { return runtime.SetMutexProfileFraction(-1) == serve.MutexProfileFraction },
		5*time.Second, time.Millisecond, "sampled while the profile is taken")
	r := <-done
	close(stop)
	require.Equal(t, http.StatusOK, r.code, r.body)
	// A gzipped profile.proto: its string table holds the functions' names.
	zr, err := gzip.NewReader(strings.NewReader(r.body))
	require.NoError(t, err)
	raw, err := io.ReadAll(zr)
	require.NoError(t, err)
	require.Contains(t, string(raw), "TestAdminPprofContention", "the window's contention is in the profile")
	require.Equal(t, 0, runtime.SetMutexProfileFraction(-1), "off again after it")
}

func TestShutdown(t *testing.T) {
	const drain = 500 * time.Millisecond
	f := start(t, func(o *serve.Options) { o.DrainDelay = drain })
	conn := f.client("edge")
	health := healthpb.NewHealthClient(conn)
	resp, err := health.Check(t.Context(), &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	require.Equal(t, healthpb.HealthCheckResponse_SERVING, resp.GetStatus())

	// A long-lived stream must not hold up GracefulStop.
	stream, err := conn.NewStream(t.Context(), &grpc.StreamDesc{ServerStreams: true}, watchMethod)
	require.NoError(t, err)
	require.NoError(t, stream.SendMsg(wrapperspb.String("")))
	require.NoError(t, stream.CloseSend())
	require.NoError(t, stream.RecvMsg(new(wrapperspb.StringValue)))

	var order []string
	f.srv.OnShutdown(func(context.Context) error { order = append(order, "first registered"); return nil })
	f.srv.OnShutdown(func(context.Context) error { order = append(order, "last registered"); return nil })

	stopped := make(chan error, 1)
	go func() { stopped <- f.stop() }()

	require.Eventually(t, func() bool { code, _ := f.admin("/readyz"); return code == http.StatusServiceUnavailable },
		drain/2, 10*time.Millisecond, "readyz goes 503 as soon as draining starts")
	code, _ := f.admin("/healthz")
	require.Equal(t, http.StatusOK, code, "the process is still alive while draining")
	resp, err = health.Check(t.Context(), &healthpb.HealthCheckRequest{})
	require.NoError(t, err, "in-flight connections still work during the drain")
	require.Equal(t, healthpb.HealthCheckResponse_NOT_SERVING, resp.GetStatus())

	select {
	case err := <-stopped:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("shutdown hung")
	}
	require.ErrorIs(t, stream.RecvMsg(new(wrapperspb.StringValue)), io.EOF, "the stream ended cleanly on drain")
	require.Equal(t, []string{"last registered", "first registered"}, order)
	resp2, err := http.Get("http://" + f.srv.AdminAddr().String() + "/healthz")
	if err == nil {
		_ = resp2.Body.Close()
	}
	require.Error(t, err, "admin server closed")
}

func TestRunTwice(t *testing.T) {
	f := start(t, nil)
	require.Error(t, f.srv.Run(t.Context()))
}

func TestNewValidation(t *testing.T) {
	dir, _ := pkitest.NewDir(t, "auth")
	src, err := mtls.NewSource(mtls.FilesFor(dir, "auth"))
	require.NoError(t, err)
	valid := func() serve.Options {
		return serve.Options{Name: "auth", ListenAddr: "127.0.0.1:0", TLS: src, AuthzPolicy: []byte(policy),
			Logger: slog.New(slog.DiscardHandler), DrainDelay: -1}
	}
	policyFile := filepath.Join(t.TempDir(), "policy.json")
	require.NoError(t, os.WriteFile(policyFile, []byte(policy), 0o644))

	tests := []struct {
		name    string
		mutate  func(*serve.Options)
		wantErr string
	}{
		{name: "valid", mutate: func(*serve.Options) {}},
		{name: "policy file", mutate: func(o *serve.Options) { o.AuthzPolicy, o.AuthzPolicyFile = nil, policyFile }},
		{name: "no name", mutate: func(o *serve.Options) { o.Name = "" }, wantErr: "Name"},
		{name: "no listen addr", mutate: func(o *serve.Options) { o.ListenAddr = "" }, wantErr: "ListenAddr"},
		{name: "no TLS", mutate: func(o *serve.Options) { o.TLS = nil }, wantErr: "mTLS"},
		{name: "no policy", mutate: func(o *serve.Options) { o.AuthzPolicy = nil }, wantErr: "policy is required"},
		{name: "two policies", mutate: func(o *serve.Options) { o.AuthzPolicyFile = policyFile }, wantErr: "not both"},
		{name: "bad policy", mutate: func(o *serve.Options) { o.AuthzPolicy = []byte(`{"rules":[]}`) }, wantErr: "no rules"},
		{name: "bad listen addr", mutate: func(o *serve.Options) { o.ListenAddr = "127.0.0.1:bogus" }, wantErr: "listen"},
		{name: "bad admin addr", mutate: func(o *serve.Options) { o.AdminAddr = "127.0.0.1:bogus" }, wantErr: "admin listen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := valid()
			tt.mutate(&o)
			srv, err := serve.New(o)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			require.NoError(t, srv.Run(ctx), "a cancelled Run shuts down cleanly and releases the listeners")
		})
	}
}

// A request message carrying the call's request id (ADR 0108): the id is
// the call's without any metadata and is not echoed; an invalid one falls
// back to the metadata's, or to one chosen and echoed here; a valid one
// wins over the metadata's. Unary and streamed alike, and the access log
// line carries the id.
func TestRequestIDCarriedInMessage(t *testing.T) {
	f := start(t, nil)
	conn := f.client("edge")
	const chosen = "<chosen>"
	tests := []struct {
		name, carried, metadata, want string
	}{
		{name: "message only", carried: "carried-1", want: "carried-1"},
		{name: "message wins", carried: "carried-2", metadata: "md-2", want: "carried-2"},
		{name: "invalid message id falls back to the metadata", carried: `bad"id`, metadata: "md-3", want: "md-3"},
		{name: "too long falls back to the metadata", carried: strings.Repeat("a", 129), metadata: "md-4", want: "md-4"},
		{name: "neither: chosen and echoed", want: chosen},
		{name: "invalid and no metadata: chosen and echoed", carried: "a b", want: chosen},
	}
	check := func(t *testing.T, answer string, header metadata.MD, want string) {
		t.Helper()
		got, _, _ := strings.Cut(answer, "|")
		if want == chosen {
			require.Regexp(t, `^[0-9a-f]{32}$`, got)
			require.Equal(t, []string{got}, header.Get(serve.RequestIDHeader), "the id chosen here is echoed")
		} else {
			require.Equal(t, want, got)
			require.Empty(t, header.Get(serve.RequestIDHeader), "not echoed: the caller knows its id")
		}
		require.Contains(t, f.logs.String(), `"request_id":"`+got+`"`, "the access line carries the id")
	}
	for _, tt := range tests {
		ctx := t.Context()
		if tt.metadata != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, serve.RequestIDHeader, tt.metadata)
		}
		t.Run("unary/"+tt.name, func(t *testing.T) {
			var header metadata.MD
			out := new(wrapperspb.StringValue)
			err := conn.Invoke(ctx, carriedIDMethod, &inferencev1.ChatCompletionRequest{CallRequestId: tt.carried}, out, grpc.Header(&header))
			require.NoError(t, err)
			check(t, out.GetValue(), header, tt.want)
		})
		t.Run("stream/"+tt.name, func(t *testing.T) {
			stream, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, carriedWatchMethod)
			require.NoError(t, err)
			require.NoError(t, stream.SendMsg(&inferencev1.StreamChatCompletionRequest{CallRequestId: tt.carried}))
			require.NoError(t, stream.CloseSend())
			out := new(wrapperspb.StringValue)
			require.NoError(t, stream.RecvMsg(out))
			header, err := stream.Header()
			require.NoError(t, err)
			// The access line is written when the handler returns, which
			// the client only knows once it has read the stream's end.
			answer := out.GetValue()
			require.ErrorIs(t, stream.RecvMsg(out), io.EOF)
			check(t, answer, header, tt.want)
		})
	}
}

// RequestIDDialOptions sends no x-request-id metadata for a call whose
// message carries the id: a unary call's message, a stream opened with
// serve.RequestIDInMessage (ADR 0108). Without either, the metadata goes
// as before.
func TestRequestIDDialOptionsLeaveCarriedIDsInTheMessage(t *testing.T) {
	f := start(t, nil)
	conn, err := mtls.Dial(t.Context(), f.srv.Addr().String(), f.source("edge"), pki.ServiceID("auth"), serve.RequestIDDialOptions()...)
	require.NoError(t, err)
	defer conn.Close()
	ctx := logging.WithRequestID(t.Context(), "from-context")
	unary := func(carried string) string {
		out := new(wrapperspb.StringValue)
		require.NoError(t, conn.Invoke(ctx, carriedIDMethod, &inferencev1.ChatCompletionRequest{CallRequestId: carried}, out))
		return out.GetValue()
	}
	stream := func(carried string, opts ...grpc.CallOption) string {
		st, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, carriedWatchMethod, opts...)
		require.NoError(t, err)
		require.NoError(t, st.SendMsg(&inferencev1.StreamChatCompletionRequest{CallRequestId: carried}))
		require.NoError(t, st.CloseSend())
		out := new(wrapperspb.StringValue)
		require.NoError(t, st.RecvMsg(out))
		return out.GetValue()
	}
	require.Equal(t, "from-context|", unary("from-context"), "carried: no metadata")
	require.Equal(t, "from-context|from-context", unary(""), "not carried: the metadata")
	require.Equal(t, "from-context|", stream("from-context", serve.RequestIDInMessage), "carried: no metadata")
	require.Equal(t, "from-context|from-context", stream("from-context"), "without the option: the metadata too")
}
