package middleware

import (
	"net/http"
	"strconv"
	"time"

	"github.com/rampart-platform/rampart/services/edge/internal/httperr"
	"github.com/rampart-platform/rampart/services/edge/internal/reqstate"
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
					"request body is too large: this route takes at most "+byteSize(l.MaxBody))
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, l.MaxBody)
			if st := reqstate.From(r.Context()); st != nil {
				st.BodyLimit = l.MaxBody
			}
		}
		if l.WriteDeadline > 0 {
			_ = setWriteDeadline(w, time.Now().Add(l.WriteDeadline))
		}
		next.ServeHTTP(w, r)
	})
}

// setWriteDeadline is http.ResponseController's SetWriteDeadline (the
// first writer, unwrapping, that has the method sets it) without the
// controller NewResponseController allocates on every request (issue 15).
func setWriteDeadline(w http.ResponseWriter, deadline time.Time) error {
	for {
		switch t := w.(type) {
		case interface{ SetWriteDeadline(time.Time) error }:
			return t.SetWriteDeadline(deadline)
		case interface{ Unwrap() http.ResponseWriter }:
			w = t.Unwrap()
		default:
			return http.ErrNotSupported
		}
	}
}

// byteSize is n as the permission table states body limits: whole MiB or
// KiB when exact, else bytes.
func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	default:
		return strconv.FormatInt(n, 10) + " bytes"
	}
}
