package logging_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/rampart-platform/rampart/pkg/logging"
)

// BenchmarkAccessLogLine is the edge's access-log record (ten attributes,
// request and tenant ids from the context) through the redacting handler:
// one per HTTP request on the hot path (issue 15).
func BenchmarkAccessLogLine(b *testing.B) {
	l := logging.New(io.Discard, slog.LevelInfo).With(slog.String("service", "edge"))
	ctx := logging.WithTenantID(logging.WithRequestID(context.Background(), "0123456789abcdef0123456789abcdef"), "t_0123456789")
	b.ReportAllocs()
	for b.Loop() {
		l.LogAttrs(ctx, slog.LevelInfo, "http request",
			slog.String("tenant_id", "t_0123456789"),
			slog.String("method", "POST"),
			slog.String("path", "/v1/chat/completions"),
			slog.String("route", "/v1/chat/completions"),
			slog.Int("status", 200),
			slog.Int64("bytes", 321),
			slog.Int64("duration_us", 1234),
			slog.String("client_ip", "127.0.0.1"),
			slog.String("client_request_id", ""))
	}
}
