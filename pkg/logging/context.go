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
	return context.WithValue(ctx, requestIDKey, id)
}

// RequestID returns the request id carried by ctx, or "".
func RequestID(ctx context.Context) string {
	v, _ := ctx.Value(requestIDKey).(string)
	return v
}

// WithTenantID returns ctx carrying the tenant id of the verified principal.
func WithTenantID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, tenantIDKey, id)
}

// TenantID returns the tenant id carried by ctx, or "".
func TenantID(ctx context.Context) string {
	v, _ := ctx.Value(tenantIDKey).(string)
	return v
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
// in its Value method.
func (f *Fields) ContextValue(key any) (v any, ok bool) {
	switch key {
	case requestIDKey:
		return f.RequestID, f.RequestID != ""
	case tenantIDKey:
		return f.TenantID, f.TenantID != ""
	}
	return nil, false
}
