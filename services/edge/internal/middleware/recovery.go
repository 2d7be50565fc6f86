package middleware

import (
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/rampart-platform/rampart/services/edge/internal/httperr"
)

// Recover turns a panic in next into a generic 500 JSON error (when nothing
// was written yet) and logs the stack with the request id. The client never
// sees the panic value.
func Recover(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Inside AccessLog (router.New) w is already its recorder, which
		// tracks the same "written yet" state: use it rather than a second
		// one per request (issue 15).
		rec, ok := w.(*recorder)
		if !ok {
			rec = &recorder{ResponseWriter: w}
		}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler { //nolint:errorlint // sentinel compared as net/http does
				panic(v)
			}
			log.LogAttrs(r.Context(), slog.LevelError, "panic serving request",
				slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
			if !rec.Wrote() {
				httperr.WriteStatus(rec, r, http.StatusInternalServerError, httperr.CodeInternal, "")
			}
		}()
		next.ServeHTTP(rec, r)
	})
}
