package middleware

import (
	"net/http"

	"github.com/rampart-platform/rampart/pkg/logging"
)

// RequestIDHeader carries the request id in and out.
const RequestIDHeader = "X-Request-Id"

// RequestID accepts a sane incoming X-Request-Id (1–128 characters of
// [A-Za-z0-9._:-]) or generates one, stores it in the context (see
// logging.RequestID), rewrites the request header to the accepted value (it
// is forwarded to backends as x-request-id) and echoes it on the response.
func RequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if !ValidRequestID(id) {
			id = NewRequestID()
		}
		r.Header.Set(RequestIDHeader, id)
		w.Header().Set(RequestIDHeader, id)
		next.ServeHTTP(w, r.WithContext(logging.WithRequestID(r.Context(), id)))
	})
}

// ValidRequestID reports whether id is acceptable as a request id (the
// rule every service shares, logging.ValidRequestID).
func ValidRequestID(id string) bool { return logging.ValidRequestID(id) }

// NewRequestID returns a random request id.
func NewRequestID() string { return logging.NewRequestID() }
