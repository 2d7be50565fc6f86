package reqstate

import (
	"context"
	"net/http"

	"google.golang.org/grpc/metadata"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/logging"
	"github.com/rampart-platform/rampart/pkg/permissions"
)

// State is the edge's state of one request.
type State struct {
	// Fields are the request id (the edge's, never the client's) and the
	// authenticated tenant; every log line made with the request's
	// context shows them (logging.RequestID, logging.TenantID).
	logging.Fields
	// ClientRequestID is the client's accepted correlation id ("" if none).
	ClientRequestID string
	// ClientIP is the client address computed from the trusted proxies.
	ClientIP string
	// Route is the permission table's route of the request (nil: none);
	// RouteKnown tells whether the path exists for another method, and
	// RouteMatched whether the table was consulted at all.
	Route        *permissions.Route
	RouteKnown   bool
	RouteMatched bool
	// BodyLimit is the body size limit middleware.Limits put on the
	// request's body (0: none), so a handler with the same or a larger
	// limit of its own need not wrap the body a second time.
	BodyLimit int64
	// Principal and Assertion are set once authentication and every
	// route check passed (nil on public routes and refused requests).
	Principal *authv1.Principal
	Assertion string
	// Delegated are the assertions for the services the route's backend
	// forwards the principal to (principal.DelegatedKey's values).
	Delegated []string
	// Outgoing is Assertion and Delegated as ready outgoing metadata
	// (principal.Forwarding.MD: shared by the key's calls, read-only; nil
	// when the route's forwarding has none built).
	Outgoing metadata.MD
	// Response is the access log's writer (State.Recorder).
	Response Recorder
}

type key struct{}

// stateCtx carries the State by value: one allocation per request.
type stateCtx struct {
	context.Context
	st State
}

// Value answers the State's key and the logging keys from the State; any
// other key is the parent's.
func (c *stateCtx) Value(k any) any {
	// A type assertion, not k == key{}: the comparison called the
	// runtime's interface equality on every look-up (~20 per chat
	// completion, issue 15); a key{} is equal to every other key{}.
	if _, ok := k.(key); ok {
		return &c.st
	}
	if v, ok := c.st.ContextValue(k); ok {
		return v
	}
	return c.Context.Value(k)
}

// From returns the State of ctx, or nil.
func From(ctx context.Context) *State {
	st, _ := ctx.Value(key{}).(*State)
	return st
}

// Ensure returns the request's State, storing a new one (and copying the
// request once) when it has none yet.
func Ensure(r *http.Request) (*State, *http.Request) {
	if st := From(r.Context()); st != nil {
		return st, r
	}
	c := &stateCtx{Context: r.Context()}
	return &c.st, r.WithContext(c)
}
