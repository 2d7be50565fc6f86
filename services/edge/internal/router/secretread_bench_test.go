package router_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/pkg/logging"
	"github.com/rampart-platform/rampart/services/edge/internal/gateway"
	"github.com/rampart-platform/rampart/services/edge/internal/middleware"
	"github.com/rampart-platform/rampart/services/edge/internal/ratelimit"
	"github.com/rampart-platform/rampart/services/edge/internal/router"
)

// BenchmarkSecretReadHandler: the edge's own work for one REST secret read
// (ADR 0055), called in process without sockets: the whole middleware
// chain as the edge builds it (access log through pkg/logging, HTTP
// metrics, bearer check from the cache, in-memory rate limit) and
// gateway.SecretReads, with keyvault a double answering from memory. Its
// allocs/op is the edge's per-read allocation count above net/http and
// grpc-go.
func BenchmarkSecretReadHandler(b *testing.B) {
	e := newEdge(b, edgeOpts{})
	p := tenantA()
	p.Scopes = append(p.Scopes, "secrets:read")
	key := e.auth.AddKey(b, p)
	log := logging.New(io.Discard, slog.LevelInfo)
	sampling, err := middleware.ParseSampling(1, nil)
	require.NoError(b, err)
	reg := prometheus.NewRegistry()
	gw := gateway.NewMux(log)
	h := router.New(router.Options{
		Log: log, HTTPMetrics: middleware.NewMetrics(reg), AccessLogSampling: &sampling,
		Authn: e.authn, Limiter: ratelimit.NewMemory(nil), LimitMetrics: ratelimit.NewMetrics(reg),
		LimitDefaults: ratelimit.Defaults{KeyRPM: 1 << 30, TenantRPM: 1 << 30},
		Gateway:       gateway.SecretReads(log, gw, newFixedKeyvault(b, "dev/app/db/pass")), OpenAPI: []byte(`{}`),
	})
	req := httptest.NewRequest(http.MethodGet, "/v1/secrets/dev/app/db/pass:value", nil)
	// Authentication removes the header from the request it serves.
	authz := []string{"Bearer " + key}
	req.RemoteAddr = "127.0.0.1:40000"
	read := func() {
		req.Header["Authorization"] = authz
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	read() // the key's first check goes to auth; later ones hit the cache
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		read()
	}
}

// fixedKeyvault answers a GetSecretValue of its one name with the same
// value, as cheaply as a double can, so the benchmark counts the edge's
// work: the answer's wire form is made once and handed to the call's
// codec as a connection hands it (deliverWire; since ADR 0091 a plain
// read's reply is the gateway's own value, not a GetSecretValueResponse).
type fixedKeyvault struct {
	name string
	wire []byte
}

func newFixedKeyvault(tb testing.TB, name string) fixedKeyvault {
	tb.Helper()
	wire, err := proto.Marshal(&keyvaultv1.GetSecretValueResponse{Name: name, VersionId: "v-1", SecretString: `{"password":"hunter2"}`,
		Arn: "arn:rampart:keyvault:t_alpha:secret/" + name, CreatedAt: timestamppb.Now(),
		VersionStages: []string{"AWSCURRENT"}, ContentType: keyvaultv1.ContentType_CONTENT_TYPE_TEXT})
	require.NoError(tb, err)
	return fixedKeyvault{name: name, wire: wire}
}

func (k fixedKeyvault) Invoke(_ context.Context, _ string, args, reply any, opts ...grpc.CallOption) error {
	if in, ok := args.(*keyvaultv1.GetSecretValueRequest); !ok || in.GetName() != k.name {
		return status.Error(codes.Unimplemented, "not in this double")
	}
	return deliverWire(k.wire, reply, opts)
}

func (fixedKeyvault) NewStream(context.Context, *grpc.StreamDesc, string, ...grpc.CallOption) (grpc.ClientStream, error) {
	return nil, status.Error(codes.Unimplemented, "not in this double")
}
