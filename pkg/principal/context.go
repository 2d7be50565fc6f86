package principal

import (
	"context"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/logging"
)

type ctxKey struct{}

// NewContext returns ctx carrying the verified principal p.
func NewContext(ctx context.Context, p *authv1.Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// withVerified is logging.WithTenantID(NewContext(ctx, p), p's tenant) in
// one context node: the interceptors set both on every call (issue 15,
// ADR 0061). A verified principal always names its tenant; without one the
// two nodes are made as before (an empty tenant id hides the parent's).
func withVerified(ctx context.Context, p *authv1.Principal) context.Context {
	if p.GetTenantId() == "" {
		return logging.WithTenantID(NewContext(ctx, p), "")
	}
	return &verifiedCtx{Context: ctx, p: p, f: logging.Fields{TenantID: p.GetTenantId()}}
}

type verifiedCtx struct {
	context.Context
	p *authv1.Principal
	f logging.Fields // the tenant id, for logging.TenantID
}

func (c *verifiedCtx) Value(key any) any {
	if _, ok := key.(ctxKey); ok {
		return c.p
	}
	if v, ok := c.f.ContextValue(key); ok {
		return v
	}
	return c.Context.Value(key)
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
