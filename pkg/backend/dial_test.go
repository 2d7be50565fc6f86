package backend_test

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	ingestionv1 "github.com/rampart-platform/rampart/gen/go/rampart/ingestion/v1"
	"github.com/rampart-platform/rampart/pkg/backend"
	"github.com/rampart-platform/rampart/pkg/logging"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/pki/pkitest"
	"github.com/rampart-platform/rampart/pkg/telemetry"
)

// metadataEcho answers Search with the incoming request id and whether a
// trace context arrived.
type metadataEcho struct {
	ingestionv1.UnimplementedIngestionServiceServer
}

func (metadataEcho) Search(ctx context.Context, _ *ingestionv1.SearchRequest) (*ingestionv1.SearchResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	first := func(k string) string {
		if v := md.Get(k); len(v) > 0 {
			return v[0]
		}
		return ""
	}
	return &ingestionv1.SearchResponse{Passages: []*ingestionv1.Passage{
		{Text: first("x-request-id")}, {Text: first("traceparent")},
	}}, nil
}

func TestDialer(t *testing.T) {
	dir, _ := pkitest.NewDir(t, "ingestion", "keyvault", "inference")
	serveAs := func(name string) string {
		src, err := mtls.NewSource(mtls.FilesFor(dir, name))
		require.NoError(t, err)
		srv := grpc.NewServer(grpc.Creds(mtls.ServerCredentials(src)))
		ingestionv1.RegisterIngestionServiceServer(srv, metadataEcho{})
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		go func() { _ = srv.Serve(lis) }()
		t.Cleanup(srv.Stop)
		return lis.Addr().String()
	}
	ingestion, impostor := serveAs("ingestion"), serveAs("keyvault")
	src, err := mtls.NewSource(mtls.FilesFor(dir, "inference"))
	require.NoError(t, err)
	var spans bytes.Buffer
	tracing, err := telemetry.NewTracing(telemetry.TracingConfig{Exporter: "stdout", ServiceName: "inference", Writer: &spans})
	require.NoError(t, err)
	t.Cleanup(func() { _ = tracing.Shutdown(context.Background()) })

	ctx := logging.WithRequestID(context.Background(), "req-dialer-1")
	tests := []struct {
		name      string
		dialer    *backend.Dialer
		addr      string
		wantCode  codes.Code
		wantTrace bool
	}{
		{"request id propagates", &backend.Dialer{TLS: src}, ingestion, codes.OK, false},
		{"request id and trace context propagate", &backend.Dialer{TLS: src, Tracing: tracing}, ingestion, codes.OK, true},
		{"a server with another identity is refused", &backend.Dialer{TLS: src}, impostor, codes.Unavailable, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := tt.dialer.Dial(ctx, "ingestion", tt.addr)
			require.NoError(t, err)
			defer conn.Close()
			resp, err := ingestionv1.NewIngestionServiceClient(conn).Search(ctx, &ingestionv1.SearchRequest{Collection: "c", Query: "q"})
			require.Equal(t, tt.wantCode, status.Code(err), "%v", err)
			if tt.wantCode != codes.OK {
				return
			}
			require.Equal(t, "req-dialer-1", resp.GetPassages()[0].GetText())
			require.Equal(t, tt.wantTrace, strings.HasPrefix(resp.GetPassages()[1].GetText(), "00-"),
				"traceparent %q", resp.GetPassages()[1].GetText())
		})
	}

	_, err = (&backend.Dialer{}).Dial(ctx, "ingestion", ingestion)
	require.ErrorContains(t, err, "no mTLS source")
}
