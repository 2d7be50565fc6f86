package serve

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/authz"
	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/pkg/grpctest"
	"github.com/rampart-platform/rampart/pkg/logging"
	"github.com/rampart-platform/rampart/pkg/logging/logtest"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/pki"
	"github.com/rampart-platform/rampart/pkg/pki/pkitest"
	"github.com/rampart-platform/rampart/pkg/principal"
	"github.com/rampart-platform/rampart/pkg/telemetry"
)

// TestOneInterceptorAsTheChain: unary and stream (ADR 0061) behave as the
// seven interceptors they replaced, chained by grpc-go — the reference
// below is that chain as it was (request id, recovery, access log, the
// metrics interceptor, authz, the principal as Extra, grpcerr). The same
// calls (answers, errors, panics, denials, missing and bad assertions,
// missing and malformed request ids, streams) go to a serve.Server and to
// a plain grpc.Server with the reference chain over real mTLS
// connections; answers, response headers, every log line (without its
// time, duration, random request id and stack) and every gRPC metric
// series must be the same.
func TestOneInterceptorAsTheChain(t *testing.T) {
	dir, _ := pkitest.NewDir(t, "inference", "edge", "ingestion")
	src, err := mtls.NewSource(mtls.FilesFor(dir, "inference"))
	require.NoError(t, err)
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	signer, err := principal.NewSigner("k1", priv, time.Minute)
	require.NoError(t, err)
	token, err := signer.Sign(&authv1.Principal{TenantId: "t_1", KeyId: "key_1"}, time.Time{})
	require.NoError(t, err)
	newPrincipal := func() (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor) {
		v := principal.NewVerifier(principal.StaticKeys{"k1": pub}, principal.WithCache(100))
		return principal.UnaryServerInterceptor(v, principal.ExemptMethods()), principal.StreamServerInterceptor(v, principal.ExemptMethods())
	}
	const pol = `{"rules":[{"methods":["/rampart.test.v1.Ref/*"],"callers":["spiffe://rampart.local/svc/edge"]}]}`

	// The server under test.
	newLogs, newReg := &logtest.Buffer{}, prometheus.NewRegistry()
	pu, ps := newPrincipal()
	srv, err := New(Options{
		Name: "inference", ListenAddr: "127.0.0.1:0", TLS: src, AuthzPolicy: []byte(pol),
		Logger: logging.New(newLogs, slog.LevelInfo), Registry: newReg, DrainDelay: -1,
		ExtraUnary: []grpc.UnaryServerInterceptor{pu}, ExtraStream: []grpc.StreamServerInterceptor{ps},
	})
	require.NoError(t, err)
	registerRefService(srv.GRPC())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })

	// The reference: the chain as it was.
	refLogs, refReg := &logtest.Buffer{}, prometheus.NewRegistry()
	refLog := logging.New(refLogs, slog.LevelInfo).With("service", "inference")
	metrics, err := telemetry.NewServerMetrics(refReg)
	require.NoError(t, err)
	az, err := authz.New([]byte(pol))
	require.NoError(t, err)
	pu, ps = newPrincipal()
	ref := grpc.NewServer(grpc.Creds(mtls.ServerCredentials(src)),
		grpc.ChainUnaryInterceptor(refRequestIDUnary, refRecoverUnary(refLog), refAccessLogUnary(refLog),
			metrics.UnaryServerInterceptor(), az.UnaryInterceptor, pu, grpcerr.UnaryServerInterceptor(refLog)),
		grpc.ChainStreamInterceptor(refRequestIDStream, refRecoverStream(refLog), refAccessLogStream(refLog),
			metrics.StreamServerInterceptor(), az.StreamInterceptor, ps, grpcerr.StreamServerInterceptor(refLog)))
	registerRefService(ref)
	healthpb.RegisterHealthServer(ref, health.NewServer()) // SERVING, as Run leaves serve's
	metrics.InitializeMetrics(ref)
	refAddr := grpctest.Serve(t, ref)

	newCalls := driveRefCalls(t, dir, srv.Addr().String(), token)
	refCalls := driveRefCalls(t, dir, refAddr, token)
	require.Equal(t, refCalls, newCalls)
	require.Len(t, newCalls, 27)

	require.Equal(t, normalizedLines(t, refLogs.String()), normalizedLines(t, newLogs.String()))
	require.Equal(t, grpcSeries(t, refReg), grpcSeries(t, newReg))
}

const refService = "rampart.test.v1.Ref"

// registerRefService: Echo answers its input, with the principal's tenant
// and the request id it saw; Fail, Invalid and Panic fail; Count streams
// its input's length in messages, then fails if the input says so.
func registerRefService(s *grpc.Server) {
	method := func(name string, h func(ctx context.Context, in string) (string, error)) grpc.MethodDesc {
		return grpc.MethodDesc{MethodName: name, Handler: func(_ any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
			in := new(wrapperspb.StringValue)
			if err := dec(in); err != nil {
				return nil, err
			}
			return ic(ctx, in, &grpc.UnaryServerInfo{FullMethod: "/" + refService + "/" + name}, func(ctx context.Context, req any) (any, error) {
				in, ok := req.(*wrapperspb.StringValue)
				if !ok {
					return nil, errors.New("unexpected request type")
				}
				out, err := h(ctx, in.GetValue())
				if err != nil {
					return nil, err
				}
				return wrapperspb.String(out), nil
			})
		}}
	}
	s.RegisterService(&grpc.ServiceDesc{
		ServiceName: refService, HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{
			method("Echo", func(ctx context.Context, in string) (string, error) {
				return in + "|" + logging.TenantID(ctx) + "|" + logging.RequestID(ctx), nil
			}),
			method("Fail", func(context.Context, string) (string, error) { return "", errors.New("db exploded") }),
			method("Invalid", func(context.Context, string) (string, error) {
				return "", grpcerr.Invalid("value", "must not be empty")
			}),
			method("Panic", func(context.Context, string) (string, error) { panic("boom") }),
		},
		Streams: []grpc.StreamDesc{{StreamName: "Count", ServerStreams: true, ClientStreams: true, Handler: func(_ any, ss grpc.ServerStream) error {
			in := new(wrapperspb.StringValue)
			if err := ss.RecvMsg(in); err != nil {
				return err
			}
			if in.GetValue() == "panic" {
				panic("stream boom")
			}
			for i := range len(in.GetValue()) {
				if err := ss.SendMsg(wrapperspb.String(fmt.Sprint(i, logging.TenantID(ss.Context())))); err != nil {
					return err
				}
			}
			if in.GetValue() == "fail" {
				return errors.New("stream exploded")
			}
			return nil
		}}},
	}, struct{}{})
}

// driveRefCalls makes the same calls to addr and describes what came back.
func driveRefCalls(t *testing.T, dir, addr, token string) []string {
	t.Helper()
	dial := func(name string) *grpc.ClientConn {
		s, err := mtls.NewSource(mtls.FilesFor(dir, name))
		require.NoError(t, err)
		conn, err := mtls.Dial(context.Background(), addr, s, pki.ServiceID("inference"))
		require.NoError(t, err)
		t.Cleanup(func() { _ = conn.Close() })
		return conn
	}
	edge, ingestion := dial("edge"), dial("ingestion")
	var out []string
	for _, c := range []struct {
		conn       *grpc.ClientConn
		method, id string
		assertion  string
	}{
		{edge, "Echo", "req-1", token},
		{edge, "Echo", "", token},
		{edge, "Echo", "bad id!", token},
		{edge, "Fail", "req-2", token},
		{edge, "Invalid", "req-3", token},
		{edge, "Panic", "req-4", token},
		{edge, "Echo", "req-5", ""},
		{edge, "Echo", "req-6", token + "x"},
		{ingestion, "Echo", "req-7", token},
		{edge, "Count", "req-8", token},
		{edge, "Count", "req-9", ""},
		{ingestion, "Count", "req-10", token},
	} {
		ctx := context.Background()
		var md []string
		if c.id != "" {
			md = append(md, RequestIDHeader, c.id)
		}
		if c.assertion != "" {
			md = append(md, principal.MetadataKey, c.assertion)
		}
		ctx = metadata.AppendToOutgoingContext(ctx, md...)
		var header metadata.MD
		if c.method != "Count" {
			resp := new(wrapperspb.StringValue)
			err := c.conn.Invoke(ctx, "/"+refService+"/"+c.method, wrapperspb.String("hi"), resp, grpc.Header(&header))
			out = append(out, describe(c.method, resp.GetValue(), err, header))
			// the health service: no assertion needed, authz's own rule
			_, err = healthpb.NewHealthClient(c.conn).Check(ctx, &healthpb.HealthCheckRequest{})
			out = append(out, describe("health", "", err, nil))
			continue
		}
		for _, in := range []string{"abc", "fail", "panic"} {
			out = append(out, countStream(ctx, c.conn, in))
		}
	}
	return out
}

func countStream(ctx context.Context, conn *grpc.ClientConn, in string) string {
	cs, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}, "/"+refService+"/Count")
	if err != nil {
		return describe("Count", "", err, nil)
	}
	// A server that refuses the stream at once may have ended it before the
	// send: SendMsg then says io.EOF and the status comes from RecvMsg
	// (grpc-go's contract), so only another send error is the outcome.
	if err := cs.SendMsg(wrapperspb.String(in)); err != nil && !errors.Is(err, io.EOF) {
		return describe("Count send", "", err, nil)
	}
	_ = cs.CloseSend()
	var got []string
	for {
		m := new(wrapperspb.StringValue)
		if err = cs.RecvMsg(m); err != nil {
			break
		}
		got = append(got, m.GetValue())
	}
	if errors.Is(err, io.EOF) {
		err = nil
	}
	header, _ := cs.Header()
	return describe("Count "+in, strings.Join(got, ","), err, header)
}

var randomID = regexp.MustCompile(`\b[0-9a-f]{32}\b`)

func describe(method, resp string, err error, header metadata.MD) string {
	st := status.Convert(err)
	return randomID.ReplaceAllString(fmt.Sprintf("%s: %q %s %q %q details=%v", method, resp, st.Code(), st.Message(),
		header.Get(RequestIDHeader), st.Details()), "<random>")
}

// normalizedLines are the log lines without what differs between runs.
func normalizedLines(t *testing.T, logs string) []string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		if m["msg"] == "serving" {
			continue
		}
		delete(m, "time")
		if _, ok := m["duration_us"]; ok {
			m["duration_us"] = "<d>"
		}
		if s, ok := m["stack"].(string); ok {
			require.Contains(t, s, "goroutine")
			m["stack"] = "<stack>"
		}
		b, err := json.Marshal(m)
		require.NoError(t, err)
		out = append(out, randomID.ReplaceAllString(string(b), "<random>"))
	}
	return out
}

// grpcSeries are the grpc_server_* series with their values (histograms:
// their sample counts).
func grpcSeries(t *testing.T, reg *prometheus.Registry) []string {
	t.Helper()
	fams, err := reg.Gather()
	require.NoError(t, err)
	var out []string
	for _, f := range fams {
		if !strings.HasPrefix(f.GetName(), "grpc_server_") {
			continue
		}
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			v := m.GetCounter().GetValue()
			if h := m.GetHistogram(); h != nil {
				v = float64(h.GetSampleCount())
			}
			out = append(out, fmt.Sprintf("%s{%s} %v", f.GetName(), strings.Join(labels, ","), v))
		}
	}
	sort.Strings(out)
	require.NotEmpty(t, out)
	return out
}

// The chain as it was before ADR 0061, one interceptor per step.

func refRequestIDUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	id, chosen := refIncomingRequestID(ctx)
	if chosen {
		_ = grpc.SetHeader(ctx, metadata.Pairs(RequestIDHeader, id))
	}
	return handler(logging.WithRequestID(ctx, id), req)
}

func refRequestIDStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	id, chosen := refIncomingRequestID(ss.Context())
	if chosen {
		_ = ss.SetHeader(metadata.Pairs(RequestIDHeader, id))
	}
	return handler(srv, &refCtxStream{ServerStream: ss, ctx: logging.WithRequestID(ss.Context(), id)})
}

func refIncomingRequestID(ctx context.Context) (string, bool) {
	if v := metadata.ValueFromIncomingContext(ctx, RequestIDHeader); len(v) == 1 && logging.ValidRequestID(v[0]) {
		return v[0], false
	}
	return NewRequestID(), true
}

type refCtxStream struct {
	grpc.ServerStream
	ctx context.Context //nolint:containedctx // the stream's
}

func (s *refCtxStream) Context() context.Context { return s.ctx }

func refRecoverUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if r := recover(); r != nil {
				err = panicked(ctx, log, info.FullMethod, r)
			}
		}()
		return handler(ctx, req)
	}
}

func refRecoverStream(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = panicked(ss.Context(), log, info.FullMethod, r)
			}
		}()
		return handler(srv, ss)
	}
}

func refAccessLogUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := handler(ctx, req)
		refLogCall(ctx, log, info.FullMethod, start, err)
		return resp, err
	}
}

func refAccessLogStream(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		start := time.Now()
		err := handler(srv, ss)
		refLogCall(ss.Context(), log, info.FullMethod, start, err)
		return err
	}
}

func refLogCall(ctx context.Context, log *slog.Logger, method string, start time.Time, err error) {
	code := status.Code(err)
	level := slog.LevelInfo
	switch {
	case code == codes.Internal || code == codes.Unknown || code == codes.DataLoss:
		level = slog.LevelError
	case strings.HasPrefix(method, "/grpc.health.v1.Health/"):
		level = slog.LevelDebug
	}
	if !log.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", method),
		slog.String("code", code.String()),
		slog.Int64("duration_us", time.Since(start).Microseconds()),
	}
	if id, perr := mtls.PeerID(ctx); perr == nil {
		attrs = append(attrs, slog.String("caller", id.String()))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", status.Convert(err).Message()))
	}
	logging.Handle(ctx, log.Handler(), time.Now(), level, "grpc call", attrs...)
}
