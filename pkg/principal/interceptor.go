package principal

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/rampart-platform/rampart/pkg/permissions"
)

// Exempt decides which methods may be called without an assertion. Anything
// it does not name requires one: default deny.
type Exempt func(fullMethod string) bool

// ExemptMethods returns an Exempt naming exact methods or whole services
// ("/pkg.Service/*"). The gRPC health and reflection services are always exempt.
func ExemptMethods(methods ...string) Exempt {
	exact := map[string]bool{}
	var prefixes []string
	for _, m := range methods {
		if p, ok := strings.CutSuffix(m, "*"); ok {
			prefixes = append(prefixes, p)
		} else {
			exact[m] = true
		}
	}
	prefixes = append(prefixes, "/grpc.health.v1.Health/", "/grpc.reflection.")
	return func(full string) bool {
		if exact[full] {
			return true
		}
		for _, p := range prefixes {
			if strings.HasPrefix(full, p) {
				return true
			}
		}
		return false
	}
}

// UnaryServerInterceptor verifies the assertion of every non-exempt call and
// puts the principal (and its tenant, for logs) into the context. On an exempt
// method a present, valid assertion is still honoured. Delegations the
// permission table does not give a call to the method are dropped before
// the handler runs (keepDelegations, ADR 0112).
func UnaryServerInterceptor(v *Verifier, exempt Exempt) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := authenticate(ctx, v, exempt, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor is the streaming twin of UnaryServerInterceptor.
func StreamServerInterceptor(v *Verifier, exempt Exempt) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, err := authenticate(ss.Context(), v, exempt, info.FullMethod)
		if err != nil {
			return err
		}
		return handler(srv, &wrappedStream{ServerStream: ss, ctx: ctx})
	}
}

func authenticate(ctx context.Context, v *Verifier, exempt Exempt, method string) (context.Context, error) {
	ctx, kept := keepDelegations(ctx, method)
	token := incoming(ctx)
	if token == "" && exempt(method) {
		return ctx, nil
	}
	p, err := v.Verify(token)
	if err != nil {
		if exempt(method) {
			return ctx, nil
		}
		return ctx, status.Error(codes.Unauthenticated, message(err))
	}
	return withVerified(ctx, p, received{own: token, delegated: kept}), nil
}

// keepDelegations is ctx with only the delegations (DelegatedKey) of the
// services the permission table says a call to method carries
// (permissions.Table.ReceivedDelegates, ADR 0112): the receiver's own
// check of what its sender forwarded. The edge already sends each call
// only those (ADR 0105 §3), but a compromised edge identity, a bug there
// or any other caller could send more; what is dropped here is never seen
// by the handler, so ForwardTo cannot present it, however the handler's
// code changes. Default deny: a method outside the table, or one taking no
// principal, keeps none. The call itself goes on (an older edge sent the
// Slack adapter every delegation with every call: new receivers accept
// old senders). ctx itself when nothing is dropped, the common case: no
// copy of the metadata then. kept are the delegations left, the call's one
// copy of them: the interceptor keeps it with the verified principal for
// ForwardTo, which then copies them no more (received).
func keepDelegations(ctx context.Context, method string) (_ context.Context, kept []string) {
	vals := metadata.ValueFromIncomingContext(ctx, DelegatedKey)
	if len(vals) == 0 {
		return ctx, nil
	}
	allowed := permissions.Default().ReceivedDelegates(method)
	keep := func(v string) bool {
		aud, _, _ := strings.Cut(v, "=")
		return slices.Contains(allowed, aud)
	}
	if !slices.ContainsFunc(vals, func(v string) bool { return !keep(v) }) {
		return ctx, vals
	}
	md, _ := metadata.FromIncomingContext(ctx) // a copy
	kept = slices.DeleteFunc(vals, func(v string) bool { return !keep(v) })
	if len(kept) > 0 {
		md[DelegatedKey] = kept
	} else {
		delete(md, DelegatedKey)
	}
	return metadata.NewIncomingContext(ctx, md), kept
}

func message(err error) string {
	switch {
	case errors.Is(err, ErrMissing):
		return "missing principal assertion"
	case errors.Is(err, ErrExpired):
		return "principal assertion expired"
	case errors.Is(err, ErrUnknownKey):
		return "principal assertion signed by an unknown key"
	case errors.Is(err, ErrAudience):
		return "principal assertion is for another service"
	default:
		return "invalid principal assertion"
	}
}

func incoming(ctx context.Context) string {
	// Only this key's values are copied (FromIncomingContext would copy the
	// whole map on every call).
	vals := metadata.ValueFromIncomingContext(ctx, MetadataKey)
	if len(vals) != 1 {
		return ""
	}
	return vals[0]
}

// AppendToOutgoing returns ctx with the assertion attached to outgoing calls,
// for a service that calls another on an assertion it obtained itself (its
// own key's, verified for that service).
func AppendToOutgoing(ctx context.Context, assertion string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, MetadataKey, assertion)
}

// ForwardTo lets a backend call the service audience for the principal of
// its own call: the outgoing call carries the delegated assertion for
// audience that came with the call (DelegatedKey) and, of the others, only
// those for the services audience forwards the principal to in turn
// (permissions.Table.Delegates: ADR 0083, authorization review 6 — the
// Slack adapter's delegation for auth went on through ingestion to
// keyvault, whose identity may call auth's RotateKey). Without a
// delegation for audience nothing is attached and audience refuses the
// call, unless the call's verified principal names no audience — only
// possible behind a verifier that checks none (a test harness) — whose
// assertion is forwarded as before. A delegation sent as its signature
// alone is rebuilt from the call's own assertion (Delegated, ADR 0098).
func ForwardTo(ctx context.Context, audience string) context.Context {
	own, vals := receivedOf(ctx)
	tok, found := "", false
	for _, v := range vals {
		if !strings.HasPrefix(v, audience+"=") {
			continue
		}
		if _, t, ok := Delegated(own, v); ok {
			tok, found = t, true
			break
		}
	}
	if !found {
		if p, ok := FromContext(ctx); ok && p.GetAudience() == "" {
			if own != "" {
				return AppendToOutgoing(ctx, own)
			}
		}
		return ctx
	}
	// A compact delegation (ADR 0098) that could not be rebuilt: nothing
	// to present, the callee refuses the call. The onward delegations go
	// as they came: the rebuilt assertion has the call's payload, from
	// which the callee rebuilds them in turn.
	if tok == "" {
		return ctx
	}
	onward := delegatesOf(audience)
	kv := make([]string, 0, 2+2*len(onward))
	kv = append(kv, MetadataKey, tok)
	for _, v := range vals {
		if aud, _, ok := strings.Cut(v, "="); ok && slices.Contains(onward, aud) {
			kv = append(kv, DelegatedKey, v)
		}
	}
	return metadata.AppendToOutgoingContext(ctx, kv...)
}

// delegated memoizes the table's Delegates per audience: ForwardTo is on
// every RAG search and data-key call, and its audiences are the services'
// names, a handful.
var delegated sync.Map // audience → []string

// delegatesOf are the services a call to audience may carry delegations
// for (the permission table's Delegates).
func delegatesOf(audience string) []string {
	if v, ok := delegated.Load(audience); ok {
		d, _ := v.([]string) // only []string is stored
		return d
	}
	d := permissions.Default().Delegates(audience)
	delegated.Store(audience, d)
	return d
}

type wrappedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (w *wrappedStream) Context() context.Context { return w.ctx }
