package principal

import (
	"context"

	"google.golang.org/grpc/metadata"

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
// The node also keeps what the call received (r), for ForwardTo.
func withVerified(ctx context.Context, p *authv1.Principal, r received) context.Context {
	if p.GetTenantId() == "" {
		return logging.WithTenantID(NewContext(ctx, p), "")
	}
	return &verifiedCtx{Context: ctx, p: p, f: logging.Fields{TenantID: p.GetTenantId()}, r: r}
}

// received is what a verified call brought: its own assertion and the
// delegations keepDelegations left it, the one copy the interceptor made
// of them (ADR 0124). ForwardTo reads them here instead of copying them
// out of the incoming metadata again on every outgoing call.
type received struct {
	own       string
	delegated []string
}

type receivedKey struct{}

type verifiedCtx struct {
	context.Context
	p *authv1.Principal
	f logging.Fields // the tenant id, for logging.TenantID
	r received
}

func (c *verifiedCtx) Value(key any) any {
	switch key.(type) {
	case ctxKey:
		return c.p
	case receivedKey:
		return &c.r // a pointer: no allocation to box it
	}
	if v, ok := c.f.ContextValue(key); ok {
		return v
	}
	return c.Context.Value(key)
}

// receivedOf is the call's own assertion and delegations: as the
// interceptor kept them when it verified the call, else (a context that
// did not come through it, or a principal naming no tenant) from the
// incoming metadata.
func receivedOf(ctx context.Context) (own string, delegated []string) {
	if r, ok := ctx.Value(receivedKey{}).(*received); ok {
		return r.own, r.delegated
	}
	return incoming(ctx), metadata.ValueFromIncomingContext(ctx, DelegatedKey)
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
