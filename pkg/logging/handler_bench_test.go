package logging_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/rampart-platform/rampart/pkg/logging"
)

// BenchmarkAccessLogLine is the edge's access-log record (ten attributes,
// request and tenant ids from the context) through the redacting handler:
// one per HTTP request on the hot path (issue 15). "record" is a logger
// call (a slog.Record), "attrs" the access logs' logging.Handle; "slog"
// writes the same line with slog's own JSON handler, for comparison.
func BenchmarkAccessLogLine(b *testing.B) {
	ctx := logging.WithTenantID(logging.WithRequestID(context.Background(), "0123456789abcdef0123456789abcdef"), "t_0123456789")
	attrs := []slog.Attr{
		slog.String("tenant_id", "t_0123456789"),
		slog.String("method", "POST"),
		slog.String("path", "/v1/chat/completions"),
		slog.String("route", "/v1/chat/completions"),
		slog.Int("status", 200),
		slog.Int64("bytes", 321),
		slog.Int64("duration_us", 1234),
		slog.String("client_ip", "127.0.0.1"),
		slog.String("client_request_id", ""),
	}
	// pkg/serve's gRPC access line, the one every backend call writes.
	grpcAttrs := []slog.Attr{
		slog.String("method", "/rampart.inference.v1.InferenceService/ChatCompletion"),
		slog.String("code", "OK"),
		slog.Int64("duration_us", 1234),
		slog.String("caller", "spiffe://rampart.local/svc/edge"),
	}
	for _, tc := range []struct {
		name string
		l    *slog.Logger
	}{
		{"rampart", logging.New(io.Discard, slog.LevelInfo)},
		{"slog", slog.New(logging.NewHandler(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo})))},
	} {
		l := tc.l.With(slog.String("service", "edge"))
		b.Run(tc.name+"/record", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				l.LogAttrs(ctx, slog.LevelInfo, "http request", attrs...)
			}
		})
		b.Run(tc.name+"/attrs", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				logging.Handle(ctx, l.Handler(), time.Now(), slog.LevelInfo, "http request", attrs...)
			}
		})
		b.Run(tc.name+"/grpc", func(b *testing.B) {
			ctx := logging.WithRequestID(context.Background(), "0123456789abcdef0123456789abcdef")
			b.ReportAllocs()
			for b.Loop() {
				logging.Handle(ctx, l.Handler(), time.Now(), slog.LevelInfo, "grpc call", grpcAttrs...)
			}
		})
	}
}
