package middleware

import (
	"net/http"
	"time"

	"github.com/rampart-platform/rampart/services/edge/internal/httperr"
)

// RouteLimits are the body size limit and write deadline of a route.
type RouteLimits struct {
	MaxBody       int64
	WriteDeadline time.Duration
}

// Limits enforces per-route body size limits (413 JSON when the declared
// length is over, and http.MaxBytesReader for chunked bodies) and sets the
// connection's write deadline per route, so streaming routes can run long
// while everything else is cut off early.
func Limits(limitsFor func(*http.Request) RouteLimits, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l := limitsFor(r)
		if l.MaxBody > 0 {
			if r.ContentLength > l.MaxBody {
				w.Header().Set("Connection", "close")
				httperr.WriteStatus(w, r, http.StatusRequestEntityTooLarge, httperr.CodeRequestTooLarge,
					"request body is too large")
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, l.MaxBody)
		}
		if l.WriteDeadline > 0 {
			_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(l.WriteDeadline))
		}
		next.ServeHTTP(w, r)
	})
}
