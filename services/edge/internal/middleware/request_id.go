package middleware

import (
	"context"
	"net/http"

	"github.com/rampart-platform/rampart/pkg/logging"
	"github.com/rampart-platform/rampart/services/edge/internal/reqstate"
)

// RequestIDHeader carries the edge's request id out (and to backends as
// x-request-id).
const RequestIDHeader = "X-Request-Id"

// ClientRequestIDHeader carries the client's own correlation id in and out,
// as OpenAI's API does.
const ClientRequestIDHeader = "X-Client-Request-Id"

// RequestID gives every request an id the edge generates, never one the
// client chose: the id keys the tenant's prompt logs, usage rows and audit
// records, and a client-chosen id could repeat another request's and shadow
// it there (GET /v1/usage/logs/{request_id} would answer with the planted
// one). A sane client id (1–128 characters of [A-Za-z0-9._:-]) from
// X-Client-Request-Id, or from X-Request-Id for clients that send their
// own there, is kept beside it: echoed as X-Client-Request-Id and logged as
// client_request_id. The request header is rewritten to the edge's id (it
// is forwarded to backends as x-request-id).
func RequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st, r := reqstate.Ensure(r)
		// Canonical names, read and removed without Header's
		// canonicalization (header_keys.go).
		client := HeaderValue(r.Header, ClientRequestIDHeader)
		if client == "" {
			client = HeaderValue(r.Header, RequestIDHeader)
		}
		delete(r.Header, ClientRequestIDHeader)
		if ValidRequestID(client) {
			w.Header()[ClientRequestIDHeader] = []string{client}
			st.ClientRequestID = client
		}
		id := NewRequestID()
		// One value slice for both maps (the key is canonical already):
		// Header.Set allocated one each (issue 15). len == cap, and nothing
		// writes through it: an Add copies it, a Set replaces it.
		v := []string{id}
		r.Header[RequestIDHeader] = v
		w.Header()[RequestIDHeader] = v
		st.RequestID = id
		next.ServeHTTP(w, r)
	})
}

// ClientRequestID returns the client's accepted correlation id, or "".
func ClientRequestID(ctx context.Context) string {
	if st := reqstate.From(ctx); st != nil {
		return st.ClientRequestID
	}
	return ""
}

// ValidRequestID reports whether id is acceptable as a request id (the
// rule every service shares, logging.ValidRequestID).
func ValidRequestID(id string) bool { return logging.ValidRequestID(id) }

// NewRequestID returns a random request id.
func NewRequestID() string { return logging.NewRequestID() }
