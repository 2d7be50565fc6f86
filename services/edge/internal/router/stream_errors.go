package router

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"

	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/rampart-platform/rampart/pkg/permissions"
	"github.com/rampart-platform/rampart/services/edge/internal/httperr"
)

// streamErrors makes a gRPC server stream served by grpc-gateway (a
// Stream route of the table that is not a model route, e.g. GET
// /v1/ingest/jobs/{id}:watch) fail like every other route when it fails
// before its first message. grpc-gateway answers such a stream with the
// HTTP status of the gRPC code and its own body, {"error": <google.rpc.Status>}
// (the gRPC code as a number); this rewrites that body into the edge's
// error (httperr, with the field of a BadRequest violation as param).
// Once the first message is written the status is 200 and nothing is
// touched. Model routes (chat completions) write the edge's errors
// themselves.
func streamErrors(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route := routeOf(r)
		if route == nil || !route.Stream || route.Rate == permissions.RateModel || route.RPC == "" {
			next.ServeHTTP(w, r)
			return
		}
		sw := &streamErrWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if !sw.failed {
			return
		}
		var chunk struct {
			Error json.RawMessage `json:"error"`
		}
		var st spb.Status
		if json.Unmarshal(sw.body.Bytes(), &chunk) != nil || len(chunk.Error) == 0 || protojson.Unmarshal(chunk.Error, &st) != nil || st.GetCode() == 0 {
			// not grpc-gateway's error chunk (the edge's own error, say):
			// as it was
			w.WriteHeader(sw.status)
			_, _ = w.Write(sw.body.Bytes())
			return
		}
		w.Header().Del("Transfer-Encoding") // set by the gateway for the stream
		httperr.WriteGRPC(r.Context(), log, w, r, status.ErrorProto(&st))
	})
}

// streamErrWriter holds back a response whose status is an error, so
// streamErrors can rewrite it; a successful stream passes straight
// through (flushed per message).
type streamErrWriter struct {
	http.ResponseWriter
	failed bool
	status int
	body   bytes.Buffer
}

func (w *streamErrWriter) WriteHeader(code int) {
	if code >= http.StatusBadRequest {
		w.failed, w.status = true, code
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *streamErrWriter) Write(b []byte) (int, error) {
	if w.failed {
		if w.body.Len()+len(b) > 1<<20 { // an error body, bounded
			return 0, http.ErrContentLength
		}
		return w.body.Write(b)
	}
	return w.ResponseWriter.Write(b)
}

// Flush passes a stream's messages on as they are written.
func (w *streamErrWriter) Flush() {
	if w.failed {
		return
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *streamErrWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
