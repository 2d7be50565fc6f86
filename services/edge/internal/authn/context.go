package authn

import (
	"context"

	"google.golang.org/grpc/metadata"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/services/edge/internal/reqstate"
)

type ctxKey struct{}

type identity struct {
	principal *authv1.Principal
	assertion string
}

// NewContext returns ctx carrying the verified principal and the signed
// assertion auth issued for it.
func NewContext(ctx context.Context, p *authv1.Principal, assertion string) context.Context {
	return context.WithValue(ctx, ctxKey{}, identity{principal: p, assertion: assertion})
}

// Delegated returns the delegations the request's backend call carries
// (principal.DelegatedKey), nil when none.
func Delegated(ctx context.Context) []string {
	if st := reqstate.From(ctx); st != nil {
		return st.Delegated
	}
	return nil
}

// Outgoing returns the request's assertion and delegations as ready
// outgoing metadata (principal.Forwarding.MD: shared, read-only), nil when
// the route's forwarding has none built (then send Delegated's pairs).
func Outgoing(ctx context.Context) metadata.MD {
	if st := reqstate.From(ctx); st != nil {
		return st.Outgoing
	}
	return nil
}

// FromContext returns the verified principal of the request and its signed
// assertion (to forward as x-rampart-principal). ok is false on routes that
// do not authenticate.
func FromContext(ctx context.Context) (p *authv1.Principal, assertion string, ok bool) {
	if st := reqstate.From(ctx); st != nil && st.Principal != nil {
		return st.Principal, st.Assertion, true
	}
	id, ok := ctx.Value(ctxKey{}).(identity)
	if !ok || id.principal == nil {
		return nil, "", false
	}
	return id.principal, id.assertion, true
}
