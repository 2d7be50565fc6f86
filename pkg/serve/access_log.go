package serve

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rampart-platform/rampart/pkg/logging"
	"github.com/rampart-platform/rampart/pkg/mtls"
)

// logCall logs one line per call (the chain's access log step, see unary):
// method, caller, code, duration d, at time now. Never request or response
// payloads — they hold tenant data and secrets.
func logCall(ctx context.Context, log *slog.Logger, method string, now time.Time, d time.Duration, err error) {
	code := status.Code(err)
	level := slog.LevelInfo
	switch {
	case code == codes.Internal || code == codes.Unknown || code == codes.DataLoss:
		level = slog.LevelError
	case strings.HasPrefix(method, "/grpc.health.v1.Health/"):
		level = slog.LevelDebug // probes every few seconds would drown the log
	}
	if !log.Enabled(ctx, level) {
		return
	}
	// At most five attributes: on the stack (growing a three-element slice
	// literal allocated on every call).
	var buf [5]slog.Attr
	attrs := append(buf[:0],
		slog.String("method", method),
		slog.String("code", code.String()),
		// Integer microseconds: slog's JSON handler marshals floats slowly.
		slog.Int64("duration_us", d.Microseconds()),
	)
	if id, perr := mtls.PeerID(ctx); perr == nil {
		attrs = append(attrs, slog.String("caller", id.String()))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", status.Convert(err).Message()))
	}
	// Not log.LogAttrs, which asks runtime.Callers for a source position
	// no handler of ours prints (issue 15: ~1 % of a backend's CPU per
	// call), and without a slog.Record in between (logging.Handle).
	logging.Handle(ctx, log.Handler(), now, level, "grpc call", attrs...)
}
