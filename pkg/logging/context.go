package logging

import "context"

type ctxKey int

const (
	requestIDKey ctxKey = iota
	tenantIDKey
)

// WithRequestID returns ctx carrying the request id that every log line made
// with that context will show.
func WithRequestID(ctx context.Context, id string) context.Context {
	return &fieldCtx{Context: ctx, key: requestIDKey, f: Fields{RequestID: id}}
}

// WithRequestIDField returns ctx carrying the request id id, as
// WithRequestID does, and the field that holds it: a server that learns the
// id only after the context was handed on (a stream's request message,
// which arrives after the interceptors that wrap the context; pkg/serve,
// ADR 0108) sets it there. The field must be set before any other
// goroutine can read ctx: it is not synchronised.
func WithRequestIDField(ctx context.Context, id string) (context.Context, *string) {
	c := &fieldCtx{Context: ctx, key: requestIDKey, f: Fields{RequestID: id}}
	return c, &c.f.RequestID
}

// RequestID returns the request id carried by ctx, or "".
func RequestID(ctx context.Context) string {
	switch v := ctx.Value(requestIDKey).(type) {
	case string:
		return v
	case *Fields:
		return v.RequestID
	}
	return ""
}

// WithTenantID returns ctx carrying the tenant id of the verified principal.
func WithTenantID(ctx context.Context, id string) context.Context {
	return &fieldCtx{Context: ctx, key: tenantIDKey, f: Fields{TenantID: id}}
}

// fieldCtx is context.WithValue(ctx, key, id) for this package's two keys
// in one allocation: WithValue also allocated the string it boxes into an
// interface (every gRPC call sets both ids, issue 15, ADR 0061). It answers
// key with its Fields, which RequestID and TenantID read as they read an
// edge request's (see Fields), including an empty id, as WithValue would.
type fieldCtx struct {
	context.Context
	key ctxKey
	f   Fields
}

func (c *fieldCtx) Value(key any) any {
	if k, ok := key.(ctxKey); ok && k == c.key {
		return &c.f
	}
	return c.Context.Value(key)
}

// TenantID returns the tenant id carried by ctx, or "".
func TenantID(ctx context.Context) string {
	switch v := ctx.Value(tenantIDKey).(type) {
	case string:
		return v
	case *Fields:
		return v.TenantID
	}
	return ""
}

// Fields are the request id and tenant id of a request held in one mutable
// struct, for a context type that carries all of a request's state in one
// value (the edge: one context per request instead of one per middleware,
// issue 15). Such a context answers the keys of WithRequestID and
// WithTenantID from its Fields through ContextValue, so RequestID, TenantID
// and every log line read them as if they had been set with those.
type Fields struct {
	RequestID string
	TenantID  string
}

// ContextValue answers key if it is the request id's or the tenant id's
// context key and that field is set (ok is false otherwise: the lookup goes
// on to the parent context). A context type embedding Fields calls it first
// in its Value method. The answer is f itself, which RequestID and TenantID
// read the field from: a string put into an interface would be allocated
// on every look-up.
func (f *Fields) ContextValue(key any) (v any, ok bool) {
	switch key {
	case requestIDKey:
		return f, f.RequestID != ""
	case tenantIDKey:
		return f, f.TenantID != ""
	}
	return nil, false
}
