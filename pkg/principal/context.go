package principal

import (
	"context"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
)

type ctxKey struct{}

// NewContext returns ctx carrying the verified principal p.
func NewContext(ctx context.Context, p *authv1.Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the verified principal of the call, if any.
func FromContext(ctx context.Context) (*authv1.Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(*authv1.Principal)
	return p, ok && p != nil
}

// HasScope reports whether p grants scope (the "admin" scope grants all).
func HasScope(p *authv1.Principal, scope string) bool {
	for _, s := range p.GetScopes() {
		if s == scope || s == "admin" {
			return true
		}
	}
	return false
}
