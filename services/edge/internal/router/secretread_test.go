package router_test

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

	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	protocodec "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/services/edge/internal/gateway"
	"github.com/rampart-platform/rampart/services/edge/internal/reqstate"
	"github.com/rampart-platform/rampart/services/edge/internal/router"
)

// keyvaultDouble answers SecretsService.GetSecretValue by the secret's
// last path segment and remembers every call it got: method, request and
// outgoing metadata. Other methods fail with Unimplemented.
type keyvaultDouble struct {
	mu    sync.Mutex
	calls []call
}

type call struct {
	method string
	req    string // prototext
	md     metadata.MD
}

func (k *keyvaultDouble) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	md, _ := metadata.FromOutgoingContext(ctx)
	req, ok := args.(proto.Message)
	if !ok {
		return status.Error(codes.Internal, "not a message")
	}
	k.mu.Lock()
	k.calls = append(k.calls, call{method: method, req: prototext.Format(req), md: md.Copy()})
	k.mu.Unlock()
	in, ok := args.(*keyvaultv1.GetSecretValueRequest)
	if !ok {
		return status.Error(codes.Unimplemented, "not in this double")
	}
	out := &keyvaultv1.GetSecretValueResponse{}
	if err := k.answer(in, out); err != nil {
		return err
	}
	return deliver(out, reply, opts)
}

// deliver hands the answer to reply as a connection would: decoded by the
// call's codec (a ForceCodecV2 option's, else proto's) from its wire form.
func deliver(out *keyvaultv1.GetSecretValueResponse, reply any, opts []grpc.CallOption) error {
	b, err := proto.Marshal(out)
	if err != nil {
		return status.Error(codes.Internal, err.Error())
	}
	return deliverWire(b, reply, opts)
}

// deliverWire is deliver of an answer already in its wire form.
func deliverWire(b []byte, reply any, opts []grpc.CallOption) error {
	codec := encoding.GetCodecV2(protocodec.Name)
	for _, o := range opts {
		if c, ok := o.(grpc.ForceCodecV2CallOption); ok {
			codec = c.CodecV2
		}
	}
	if err := codec.Unmarshal(mem.BufferSlice{mem.SliceBuffer(b)}, reply); err != nil {
		return status.Errorf(codes.Internal, "grpc: failed to unmarshal the received message: %v", err)
	}
	return nil
}

// answer fills out as keyvault would answer in, or fails as it would.
func (k *keyvaultDouble) answer(in *keyvaultv1.GetSecretValueRequest, out *keyvaultv1.GetSecretValueResponse) error {
	switch last := in.GetName()[strings.LastIndexByte(in.GetName(), '/')+1:]; last {
	case "missing":
		return status.Error(codes.NotFound, "secret "+in.GetName()+" not found")
	case "bad":
		st, _ := status.New(codes.InvalidArgument, "version_stage: unknown stage").WithDetails(&errdetails.BadRequest{
			FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "version_stage", Description: "unknown stage"}}})
		return st.Err()
	case "boom":
		return status.Error(codes.Internal, "disk at /var/lib/keyvault on fire")
	case "busy":
		st, _ := status.New(codes.Unavailable, "busy").WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(1500 * time.Millisecond)})
		return st.Err()
	case "binary":
		proto.Merge(out, &keyvaultv1.GetSecretValueResponse{Name: in.GetName(), VersionId: "v-2",
			SecretBinary: []byte{0, 1, 2, 0xfe, 0xff}, VersionStages: []string{"AWSCURRENT"},
			ContentType: keyvaultv1.ContentType_CONTENT_TYPE_BINARY, CreatedAt: timestamppb.New(time.Date(2026, 12, 6, 14, 0, 0, 120000000, time.UTC))})
		return nil
	}
	proto.Merge(out, &keyvaultv1.GetSecretValueResponse{Name: in.GetName(), VersionId: "v-1",
		SecretString: "s3cr\"et <&> é \u2028 \x01" + in.GetVersionStage() + in.GetVersionId(), VersionStages: []string{"AWSCURRENT", "blue"},
		Arn: "arn:rampart:keyvault:t_alpha:secret" + in.GetName(), ContentType: keyvaultv1.ContentType_CONTENT_TYPE_TEXT,
		CreatedAt: timestamppb.New(time.Date(2026, 12, 6, 14, 0, 0, 123456789, time.UTC))})
	return nil
}

func (k *keyvaultDouble) NewStream(context.Context, *grpc.StreamDesc, string, ...grpc.CallOption) (grpc.ClientStream, error) {
	return nil, status.Error(codes.Unimplemented, "not in this double")
}

func (k *keyvaultDouble) take() []call {
	k.mu.Lock()
	defer k.mu.Unlock()
	c := k.calls
	k.calls = nil
	return c
}

// TestSecretReadsAnswerAsTheGateway: gateway.SecretReads, with the router
// sending the reads it takes past the ServeMux (GatewayFirst), answers
// every request exactly as grpc-gateway's generated handler behind the
// ServeMux does — status,
// headers, body, and the gRPC call keyvault gets (method, request,
// metadata) — for plain reads it takes itself, backend errors of every
// kind, and spellings it leaves to the gateway (queries, escapes, unclean
// paths, other methods and verbs, Grpc-Timeout and TE headers).
func TestSecretReadsAnswerAsTheGateway(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	serve := func(direct bool) (*httptest.Server, *keyvaultDouble) {
		kv := &keyvaultDouble{}
		gw := gateway.NewMux(log)
		require.NoError(t, gateway.Register(t.Context(), gw, gateway.Conns{Keyvault: kv}))
		var h http.Handler = gw
		o := router.Options{Log: log, OpenAPI: []byte(`{}`)}
		if direct {
			h = gateway.SecretReads(log, gw, kv)
			o.GatewayFirst = gateway.PlainSecretRead
		}
		// What authentication leaves for the gateway: the principal and
		// its assertion.
		authed := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if st := reqstate.From(r.Context()); st != nil {
				st.Principal = &authv1.Principal{TenantId: "t_alpha", Subject: "alice"}
				st.Assertion = "v1.assertion.of-alice"
			}
			h.ServeHTTP(w, r)
		})
		o.Gateway = authed
		srv := httptest.NewServer(router.New(o))
		t.Cleanup(srv.Close)
		return srv, kv
	}
	viaGateway, gwKV := serve(false)
	viaDirect, directKV := serve(true)
	type answer struct {
		status int
		header http.Header
		body   string
		calls  []call
	}
	do := func(srv *httptest.Server, kv *keyvaultDouble, method, path, body string, hdr ...string) answer {
		var rb io.Reader
		if body != "" {
			rb = strings.NewReader(body)
		}
		req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, rb)
		require.NoError(t, err)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		raw, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		id := resp.Header.Get("X-Request-Id")
		h := resp.Header.Clone()
		h.Del("Date")
		h.Del("X-Request-Id")
		calls := kv.take()
		for _, c := range calls {
			require.Equal(t, []string{id}, c.md.Get("x-request-id"), "the edge's request id is forwarded")
			c.md.Delete("x-request-id")
			for k, v := range c.md {
				if len(v) == 0 {
					delete(c.md, k) // a key without values puts nothing on the wire
				}
			}
		}
		return answer{resp.StatusCode, h, strings.ReplaceAll(string(raw), id, "<id>"), calls}
	}
	const name = "/v1/secrets/dev/app/db/pass"
	paths := []string{
		name + ":value", "/v1/secrets/dev/app/db/missing:value", "/v1/secrets/dev/app/db/bad:value",
		"/v1/secrets/dev/app/db/boom:value", "/v1/secrets/dev/app/db/busy:value", "/v1/secrets/dev/app/db/binary:value",
		"/v1/secrets/a-b_c~d.e/F9/x:value", "/v1/secrets/one:value", "/v1/secrets/.../x:value",
		name + ":value?version_stage=AWSPREVIOUS", name + ":value?version_id=v-0", name + ":value?", name + ":value?unknown=1",
		name + ":value?version_stage=%ZZ", "/v1/secrets/dev%2Fapp/db/pass:value", "/v1/secrets/dev/app/db/pa%20ss:value",
		"/v1/secrets/dev//app/x:value", "/v1/secrets/dev/app/:value", "/v1/secrets/:value", "/v1/secrets:value",
		"/v1/secrets/a:b:value", "/v1/secrets/a/./b:value", "/v1/secrets/a/../b:value", "/v1/secrets/x:value/",
		"/v1/secrets/x:valuex", "/v1/secrets/x:Value", name, "/v1/secrets/x:value:value", "/v1/secrets/%78:value",
	}
	var checked int
	for _, path := range paths {
		for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodDelete} {
			for _, extra := range [][]string{nil, {"TE", "trailers"}, {"Grpc-Timeout", "1S"}, {"X-Forwarded-For", "203.0.113.9", "X-Request-Id", "mine"}, {"Accept", "application/xml"}} {
				body := ""
				if method == http.MethodPost {
					body = `{}`
				}
				g := do(viaGateway, gwKV, method, path, body, extra...)
				d := do(viaDirect, directKV, method, path, body, extra...)
				require.Equal(t, g, d, "%s %s %v", method, path, extra)
				checked++
			}
		}
	}
	// A GET with a body (read and dropped by both).
	require.Equal(t, do(viaGateway, gwKV, http.MethodGet, name+":value", `{"name":"other"}`), do(viaDirect, directKV, http.MethodGet, name+":value", `{"name":"other"}`))

	// The plain read did reach keyvault, with the principal's assertion
	// and the client address.
	a := do(viaDirect, directKV, http.MethodGet, name+":value", "")
	require.Equal(t, http.StatusOK, a.status, a.body)
	require.Len(t, a.calls, 1)
	require.Equal(t, "/rampart.keyvault.v1.SecretsService/GetSecretValue", a.calls[0].method)
	require.Equal(t, prototext.Format(&keyvaultv1.GetSecretValueRequest{Name: "dev/app/db/pass"}), a.calls[0].req)
	require.Equal(t, []string{"v1.assertion.of-alice"}, a.calls[0].md.Get("x-rampart-principal"))
	require.Equal(t, []string{"127.0.0.1"}, a.calls[0].md.Get("x-forwarded-for"))
	require.Empty(t, a.calls[0].md.Get("authorization"))
	require.Greater(t, checked, 500)
}

// TestPlainSecretReadsSkipTheServeMux: with GatewayFirst, a plain secret
// read reaches the gateway without the ServeMux (which would have set the
// request's Pattern to "/v1/"); every other spelling, and every request
// without the option, still goes through it, so its cleaning and redirects
// apply as before.
func TestPlainSecretReadsSkipTheServeMux(t *testing.T) {
	var pattern string
	gw := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pattern = r.Pattern
		w.WriteHeader(http.StatusTeapot)
	})
	for _, tt := range []struct {
		method, target string
		first          bool   // GatewayFirst set
		code           int    // the answer
		pattern        string // the ServeMux's, "" = skipped
	}{
		{http.MethodGet, "/v1/secrets/dev/app/db/pass:value", true, http.StatusTeapot, ""},
		{http.MethodGet, "/v1/secrets/dev/app/db/pass:value", false, http.StatusTeapot, "/v1/"},
		{http.MethodGet, "/v1/secrets/dev/app/db/pass:value?version_stage=AWSPREVIOUS", true, http.StatusTeapot, "/v1/"},
		{http.MethodGet, "/v1/secrets/dev%2Fapp/db/pass:value", true, http.StatusTeapot, "/v1/"},
		{http.MethodPost, "/v1/secrets/dev/app/db/pass:value", true, http.StatusTeapot, "/v1/"},
		{http.MethodGet, "/v1/secrets/dev//app:value", true, http.StatusTemporaryRedirect, "-"},
		{http.MethodGet, "/v1/secrets/dev/../app:value", true, http.StatusTemporaryRedirect, "-"},
		{http.MethodGet, "/v1/secrets/dev/./app:value", true, http.StatusTemporaryRedirect, "-"},
	} {
		o := router.Options{Gateway: gw}
		if tt.first {
			o.GatewayFirst = gateway.PlainSecretRead
		}
		pattern = "-"
		rec := httptest.NewRecorder()
		router.New(o).ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), tt.method, tt.target, nil))
		require.Equal(t, tt.code, rec.Code, "%s %s", tt.method, tt.target)
		require.Equal(t, tt.pattern, pattern, "%s %s", tt.method, tt.target)
	}
}
