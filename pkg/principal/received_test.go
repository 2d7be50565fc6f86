package principal

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/rampart-platform/rampart/pkg/permissions"
)

// TestReceiversKeepOnlyTheirRPCsDelegations (ADR 0112): whatever a sender
// forwards, the receiving service's interceptor leaves its handler only
// the delegations the permission table gives a call to that RPC — an RPC
// whose row narrows its service's forwards (RPC.Forwards) its
// CallDelegates, any other RPC taking a principal its service's
// Delegates, an RPC taking none or a method outside the table none
// (default deny). Generated from the table: every RPC is called with a
// delegation for every service, compact and whole, and the handler sees
// (in its metadata and through ForwardTo) exactly those. On the previous
// code every receiver kept all of them: the Slack adapter's ListBindings
// could have presented an admin's assertion to auth.
func TestReceiversKeepOnlyTheirRPCsDelegations(t *testing.T) {
	s := newSigner(t, "k1")
	keys := StaticKeys{"k1": s.PublicKey()}
	tab := permissions.Default()
	services := []string{permissions.Auth, permissions.Inference, permissions.Ingestion, permissions.Keyvault, permissions.SlackAdapter}

	// want is the table's answer from its own definitions (not
	// ReceivedDelegates, which the interceptor uses).
	want := func(r permissions.RPC) []string {
		if !r.Principal {
			return nil
		}
		if d, narrowed := tab.CallDelegates(r.Name); narrowed {
			return d
		}
		return tab.Delegates(permissions.ServiceOf(r.Name))
	}
	type call struct {
		method, service string
		want            []string
	}
	var calls []call
	for _, r := range tab.RPCs() {
		calls = append(calls, call{r.Name, permissions.ServiceOf(r.Name), want(r)})
	}
	// Anchors, so that a table mistake is not mirrored silently, and
	// methods outside the table.
	slack := "/rampart.slackadapter.v1.SlackAdapterService/"
	anchors := map[string][]string{
		slack + "ListBindings":  nil,
		slack + "GetInstallUrl": {permissions.Auth},
		slack + "SetBinding":    {permissions.Ingestion, permissions.Keyvault},
		slack + "HandleEvent":   nil,
		"/rampart.inference.v1.InferenceService/ChatCompletion": {permissions.Ingestion, permissions.Keyvault},
		"/rampart.ingestion.v1.IngestionService/Search":         {permissions.Keyvault},
		"/rampart.keyvault.v1.KmsService/Decrypt":               nil,
		"/rampart.auth.v1.KeyService/CreateKey":                 nil,
	}
	for _, c := range calls {
		if a, ok := anchors[c.method]; ok {
			require.Equal(t, a, c.want, "%s: the table's answer", c.method)
			delete(anchors, c.method)
		}
	}
	require.Empty(t, anchors, "every anchor is a row of the table")
	calls = append(calls,
		call{"/rampart.slackadapter.v1.SlackAdapterService/NoSuchMethod", permissions.SlackAdapter, nil},
		call{"/grpc.health.v1.Health/Check", permissions.Inference, nil})

	for _, c := range calls {
		t.Run(c.method, func(t *testing.T) {
			each, err := s.SignEach(samplePrincipal(), append([]string{c.service}, services...), time.Time{})
			require.NoError(t, err)
			own := each[0]
			for _, compact := range []bool{false, true} {
				md := metadata.Pairs(MetadataKey, own, "x-request-id", "r1")
				for i, aud := range services {
					d := aud + "=" + each[i+1]
					if compact {
						d = Delegation(own, aud, each[i+1])
					}
					md.Append(DelegatedKey, d)
				}
				var seen []string
				var presented []string
				var requestID []string
				_, err := UnaryServerInterceptor(NewVerifier(keys, WithAudience(c.service)), ExemptMethods())(
					metadata.NewIncomingContext(context.Background(), md), nil, &grpc.UnaryServerInfo{FullMethod: c.method},
					func(ctx context.Context, _ any) (any, error) {
						for _, v := range metadata.ValueFromIncomingContext(ctx, DelegatedKey) {
							aud, _, _ := strings.Cut(v, "=")
							seen = append(seen, aud)
						}
						for _, aud := range services {
							out, _ := metadata.FromOutgoingContext(ForwardTo(ctx, aud))
							if len(out.Get(MetadataKey)) > 0 {
								presented = append(presented, aud)
							}
						}
						requestID = metadata.ValueFromIncomingContext(ctx, "x-request-id")
						return nil, nil
					})
				require.NoError(t, err)
				slices.Sort(seen)
				require.Equal(t, c.want, seen, "compact %v: the delegations the handler sees", compact)
				require.Equal(t, c.want, presented, "compact %v: the services ForwardTo can call on the principal", compact)
				require.Equal(t, []string{"r1"}, requestID, "the rest of the metadata stays")
				require.Len(t, md.Get(DelegatedKey), len(services), "the caller's metadata is not changed")
			}
		})
	}
}

// TestKeepDelegationsCopiesOnlyWhenItDrops: a call carrying exactly its
// RPC's delegations (what the edge sends) keeps its context; no copy of
// the metadata on that path. What it keeps is what it returns.
func TestKeepDelegationsCopiesOnlyWhenItDrops(t *testing.T) {
	const method = "/rampart.ingestion.v1.IngestionService/Search"
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs(MetadataKey, "a", DelegatedKey, "keyvault=x"))
	got, kept := keepDelegations(ctx, method)
	require.Equal(t, ctx, got)
	require.Equal(t, []string{"keyvault=x"}, kept)
	none := metadata.NewIncomingContext(context.Background(), metadata.Pairs(MetadataKey, "a"))
	got, kept = keepDelegations(none, method)
	require.Equal(t, none, got)
	require.Empty(t, kept)
	more := metadata.NewIncomingContext(context.Background(), metadata.Pairs(MetadataKey, "a", DelegatedKey, "keyvault=x", DelegatedKey, "auth=y"))
	got, kept = keepDelegations(more, method)
	require.Equal(t, []string{"keyvault=x"}, metadata.ValueFromIncomingContext(got, DelegatedKey))
	require.Equal(t, []string{"keyvault=x"}, kept)
	require.Equal(t, []string{"a"}, metadata.ValueFromIncomingContext(got, MetadataKey))
}

// TestForwardToPresentsWhatTheReceiverKept (ADR 0112, ADR 0124): behind
// the interceptor, ForwardTo presents the delegations the interceptor
// kept for the call's RPC — read from the verified call, not copied out of
// the metadata again — so a delegation the RPC does not name cannot be
// presented even if the handler's context later carries metadata that
// holds it; a context that did not come through the interceptor still
// forwards from its metadata, narrowed to the callee's onward services.
func TestForwardToPresentsWhatTheReceiverKept(t *testing.T) {
	s := newSigner(t, "k1")
	keys := StaticKeys{"k1": s.PublicKey()}
	services := []string{permissions.Auth, permissions.Ingestion, permissions.Keyvault}
	presented := func(ctx context.Context) (out []string) {
		for _, aud := range services {
			md, _ := metadata.FromOutgoingContext(ForwardTo(ctx, aud))
			if len(md.Get(MetadataKey)) > 0 {
				out = append(out, aud)
			}
		}
		return out
	}
	// all is a call to service carrying a delegation for every other.
	all := func(t *testing.T, service string) metadata.MD {
		each, err := s.SignEach(samplePrincipal(), append([]string{service}, services...), time.Time{})
		require.NoError(t, err)
		md := metadata.Pairs(MetadataKey, each[0])
		for i, aud := range services {
			md.Append(DelegatedKey, Delegation(each[0], aud, each[i+1]))
		}
		return md
	}
	slack := "/rampart.slackadapter.v1.SlackAdapterService/"
	for _, tt := range []struct {
		service, method string
		want            []string
	}{
		{permissions.Inference, "/rampart.inference.v1.InferenceService/ChatCompletion", []string{permissions.Ingestion, permissions.Keyvault}},
		{permissions.SlackAdapter, slack + "GetInstallUrl", []string{permissions.Auth}},
		{permissions.SlackAdapter, slack + "ListBindings", nil},
		{permissions.Inference, "/rampart.inference.v1.InferenceService/NoSuchMethod", nil},
	} {
		t.Run(tt.method, func(t *testing.T) {
			md := all(t, tt.service)
			var behind, rewrapped []string
			_, err := UnaryServerInterceptor(NewVerifier(keys, WithAudience(tt.service)), ExemptMethods())(
				metadata.NewIncomingContext(context.Background(), md), nil, &grpc.UnaryServerInfo{FullMethod: tt.method},
				func(ctx context.Context, _ any) (any, error) {
					behind = presented(ctx)
					rewrapped = presented(metadata.NewIncomingContext(ctx, md))
					return nil, nil
				})
			require.NoError(t, err)
			require.Equal(t, tt.want, behind, "the delegations the interceptor kept")
			require.Equal(t, tt.want, rewrapped, "metadata put back later does not widen what the call may present")
		})
	}
	// Not through the interceptor: the metadata, as before.
	plain := NewContext(metadata.NewIncomingContext(context.Background(), all(t, permissions.Inference)), samplePrincipal())
	require.Equal(t, []string{permissions.Auth, permissions.Ingestion, permissions.Keyvault}, presented(plain))
}

// BenchmarkInterceptorWithDelegations is a chat call as the edge sends it
// to inference (its assertion and the two delegations its RPC keeps)
// through the interceptor: what keepDelegations adds to every such call.
func BenchmarkInterceptorWithDelegations(b *testing.B) {
	s := newSigner(b, "k1")
	each, err := s.SignEach(samplePrincipal(), []string{permissions.Inference, permissions.Ingestion, permissions.Keyvault}, time.Time{})
	require.NoError(b, err)
	md := metadata.Pairs(MetadataKey, each[0],
		DelegatedKey, Delegation(each[0], permissions.Ingestion, each[1]), DelegatedKey, Delegation(each[0], permissions.Keyvault, each[2]))
	ctx := metadata.NewIncomingContext(context.Background(), md)
	icpt := UnaryServerInterceptor(NewVerifier(StaticKeys{"k1": s.PublicKey()}, WithCache(16), WithAudience(permissions.Inference)), ExemptMethods())
	info := &grpc.UnaryServerInfo{FullMethod: "/rampart.inference.v1.InferenceService/ChatCompletion"}
	handler := func(context.Context, any) (any, error) { return nil, nil }
	b.ReportAllocs()
	for b.Loop() {
		if _, err := icpt(ctx, nil, info, handler); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReceiveAndForward is a chat call as the edge sends it to
// inference (its assertion and the two delegations its RPC keeps) through
// the interceptor, whose handler calls on the principal as inference does
// on a RAG chat: ingestion's search and keyvault's data key (ForwardTo
// twice). The delegations are copied once per call (ADR 0124).
func BenchmarkReceiveAndForward(b *testing.B) {
	s := newSigner(b, "k1")
	each, err := s.SignEach(samplePrincipal(), []string{permissions.Inference, permissions.Ingestion, permissions.Keyvault}, time.Time{})
	require.NoError(b, err)
	md := metadata.Pairs(MetadataKey, each[0],
		DelegatedKey, Delegation(each[0], permissions.Ingestion, each[1]), DelegatedKey, Delegation(each[0], permissions.Keyvault, each[2]))
	ctx := metadata.NewIncomingContext(context.Background(), md)
	icpt := UnaryServerInterceptor(NewVerifier(StaticKeys{"k1": s.PublicKey()}, WithCache(16), WithAudience(permissions.Inference)), ExemptMethods())
	info := &grpc.UnaryServerInfo{FullMethod: "/rampart.inference.v1.InferenceService/ChatCompletion"}
	handler := func(ctx context.Context, _ any) (any, error) {
		_ = ForwardTo(ctx, permissions.Ingestion)
		_ = ForwardTo(ctx, permissions.Keyvault)
		return nil, nil
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := icpt(ctx, nil, info, handler); err != nil {
			b.Fatal(err)
		}
	}
}
