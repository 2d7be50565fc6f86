package slackrelay

import (
	"errors"
	"io"
	"net/http"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	slackadapterv1 "github.com/rampart-platform/rampart/gen/go/rampart/slackadapter/v1"
	"github.com/rampart-platform/rampart/services/edge/internal/httperr"
	"github.com/rampart-platform/rampart/services/edge/internal/middleware"
)

// MaxBody bounds a relayed body (Slack's payloads are far smaller).
const MaxBody = 1 << 20

// passedHeaders are the adapter's response headers the edge writes.
var passedHeaders = map[string]bool{"Location": true, "Set-Cookie": true, "Cache-Control": true, "Referrer-Policy": true}

// New returns the relay handler over conn (the slack adapter).
func New(conn grpc.ClientConnInterface) http.Handler {
	client := slackadapterv1.NewSlackAdapterServiceClient(conn)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				httperr.WriteStatus(w, r, http.StatusRequestEntityTooLarge, httperr.CodeRequestTooLarge, "body exceeds 1 MiB")
				return
			}
			httperr.WriteStatus(w, r, http.StatusBadRequest, httperr.CodeInvalidArgument, "could not read the body")
			return
		}
		req := &slackadapterv1.HandleEventRequest{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Body: body}
		for name, vals := range r.Header {
			for _, v := range vals {
				req.Headers = append(req.Headers, &slackadapterv1.Header{Name: name, Value: v})
			}
		}
		resp, err := client.HandleEvent(r.Context(), req)
		if err != nil {
			code := http.StatusBadGateway
			if c := status.Code(err); c == codes.Unavailable || c == codes.DeadlineExceeded {
				code = http.StatusServiceUnavailable
			}
			httperr.WriteStatus(w, r, code, httperr.CodeUnavailable, "slack adapter unavailable")
			return
		}
		st := int(resp.GetStatusCode())
		if st < 100 || st > 599 {
			st = http.StatusBadGateway
		}
		if ct := resp.GetContentType(); ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		// The install pages are the edge's only HTML (ADR 0129).
		middleware.HTMLPageHeaders(w.Header())
		for _, h := range resp.GetHeaders() {
			// Only what the install pages need (redirect to Slack, the
			// browser-binding cookie): the adapter cannot set anything
			// else on the edge's origin. One value each but Set-Cookie.
			name := http.CanonicalHeaderKey(h.GetName())
			switch {
			case name == "Set-Cookie":
				w.Header().Add(name, h.GetValue())
			case passedHeaders[name]:
				w.Header().Set(name, h.GetValue())
			}
		}
		w.WriteHeader(st)
		_, _ = w.Write(resp.GetBody())
	})
}
