package principal

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// TestAudience (ADR 0083): an assertion names the one service it is for. A
// verifier with an audience refuses an assertion for another service and
// one that names none (an old auth's, or a hand-made one), cached or not;
// through the interceptor that is Unauthenticated.
func TestAudience(t *testing.T) {
	s := newSigner(t, "k1")
	forInference, err := s.SignFor(samplePrincipal(), "inference", time.Time{})
	require.NoError(t, err)
	forKeyvault, err := s.SignFor(samplePrincipal(), "keyvault", time.Time{})
	require.NoError(t, err)
	none, err := s.Sign(samplePrincipal(), time.Time{})
	require.NoError(t, err)
	keys := StaticKeys{"k1": s.PublicKey()}

	for _, opts := range [][]VerifierOption{{WithAudience("keyvault")}, {WithAudience("keyvault"), WithCache(10)}} {
		v := NewVerifier(keys, opts...)
		for range 2 { // the second round hits the cache where there is one
			p, err := v.Verify(forKeyvault)
			require.NoError(t, err)
			require.Equal(t, "keyvault", p.GetAudience())
			_, err = v.Verify(forInference)
			require.ErrorIs(t, err, ErrAudience, "an assertion minted for inference is refused by keyvault")
			_, err = v.Verify(none)
			require.ErrorIs(t, err, ErrAudience, "an assertion without an audience is refused")
		}
	}
	// Without an audience (test harnesses) the verifier checks none.
	_, err = NewVerifier(keys).Verify(forInference)
	require.NoError(t, err)

	icpt := UnaryServerInterceptor(NewVerifier(keys, WithAudience("keyvault")), ExemptMethods())
	for tok, want := range map[string]codes.Code{forKeyvault: codes.OK, forInference: codes.Unauthenticated, none: codes.Unauthenticated} {
		ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs(MetadataKey, tok))
		_, err := icpt(ctx, nil, &grpc.UnaryServerInfo{FullMethod: "/rampart.keyvault.v1.KmsService/Decrypt"},
			func(context.Context, any) (any, error) { return nil, nil })
		require.Equal(t, want, status.Code(err), "%v", err)
		if want != codes.OK {
			require.Equal(t, "principal assertion is for another service", status.Convert(err).Message())
		}
	}
}

// TestForwardTo: a backend calling another on the principal of its call
// sends the delegation for that service as the assertion, and passes the
// other delegations on; never its own assertion (the callee would refuse
// it) unless the call's principal names no audience (a harness without
// audience checks).
func TestForwardTo(t *testing.T) {
	s := newSigner(t, "k1")
	own, err := s.SignFor(samplePrincipal(), "inference", time.Time{})
	require.NoError(t, err)
	legacy, err := s.Sign(samplePrincipal(), time.Time{})
	require.NoError(t, err)
	keys := StaticKeys{"k1": s.PublicKey()}

	// incoming is the context a handler of the inference service sees.
	incoming := func(t *testing.T, tok string, delegated ...string) context.Context {
		t.Helper()
		md := metadata.Pairs(MetadataKey, tok)
		for _, d := range delegated {
			md.Append(DelegatedKey, d)
		}
		var got context.Context
		_, err := UnaryServerInterceptor(NewVerifier(keys), ExemptMethods())(metadata.NewIncomingContext(context.Background(), md), nil,
			&grpc.UnaryServerInfo{FullMethod: "/rampart.inference.v1.InferenceService/ChatCompletion"},
			func(ctx context.Context, _ any) (any, error) { got = ctx; return nil, nil })
		require.NoError(t, err)
		return got
	}
	out := func(ctx context.Context) metadata.MD {
		md, _ := metadata.FromOutgoingContext(ctx)
		return md
	}

	ctx := incoming(t, own, "ingestion=ING", "keyvault=KV")
	md := out(ForwardTo(ctx, "ingestion"))
	require.Equal(t, []string{"ING"}, md.Get(MetadataKey))
	require.Equal(t, []string{"keyvault=KV"}, md.Get(DelegatedKey), "ingestion may go on to keyvault")
	md = out(ForwardTo(ctx, "keyvault"))
	require.Equal(t, []string{"KV"}, md.Get(MetadataKey))

	md = out(ForwardTo(ctx, "auth"))
	require.Empty(t, md.Get(MetadataKey), "no delegation for auth: nothing to present, and never inference's own")
	require.Empty(t, md.Get(DelegatedKey))

	md = out(ForwardTo(incoming(t, legacy), "ingestion"))
	require.Equal(t, []string{legacy}, md.Get(MetadataKey), "a principal without audience (no checks in this harness) forwards as before")
	require.Empty(t, out(ForwardTo(context.Background(), "ingestion")).Get(MetadataKey))
}

// TestForwardToPassesOnlyTheCalleesDelegations (authorization review 6):
// a call carries delegations for every service its receiver forwards the
// principal to, but the receiver passes on to a callee only those the
// callee forwards to in turn (permissions.Table.Delegates). The Slack
// adapter receives an admin's delegation for auth (it creates its tenant
// key with it); it went on with the binding check to ingestion, and any
// ingestion call to keyvault on that request would have handed keyvault —
// whose identity may call auth's RotateKey — the admin's assertion for
// auth, the takeover ADR 0083 closed.
func TestForwardToPassesOnlyTheCalleesDelegations(t *testing.T) {
	s := newSigner(t, "k1")
	keys := StaticKeys{"k1": s.PublicKey()}
	// handle is what a handler of service svc sees of a call carrying tok
	// and delegated.
	handle := func(t *testing.T, svc, tok string, delegated []string) context.Context {
		t.Helper()
		md := metadata.Pairs(MetadataKey, tok)
		for _, d := range delegated {
			md.Append(DelegatedKey, d)
		}
		var got context.Context
		_, err := UnaryServerInterceptor(NewVerifier(keys, WithAudience(svc)), ExemptMethods())(metadata.NewIncomingContext(context.Background(), md), nil,
			&grpc.UnaryServerInfo{FullMethod: "/rampart." + svc + ".v1.X/Y"},
			func(ctx context.Context, _ any) (any, error) { got = ctx; return nil, nil })
		require.NoError(t, err)
		return got
	}
	sign := func(aud string) string {
		tok, err := s.SignFor(samplePrincipal(), aud, time.Time{})
		require.NoError(t, err)
		return tok
	}
	// relay is one hop: the outgoing call of from's handler to svc, as svc's
	// handler sees it.
	relay := func(t *testing.T, from context.Context, svc string) (context.Context, []string) {
		t.Helper()
		md, _ := metadata.FromOutgoingContext(ForwardTo(from, svc))
		require.Len(t, md.Get(MetadataKey), 1, "a delegation for %s", svc)
		return handle(t, svc, md.Get(MetadataKey)[0], md.Get(DelegatedKey)), md.Get(DelegatedKey)
	}
	auth, ing, kv := "auth="+sign("auth"), "ingestion="+sign("ingestion"), "keyvault="+sign("keyvault")

	// The edge's call to the Slack adapter (SetBinding) and its onward hops.
	adapter := handle(t, "slackadapter", sign("slackadapter"), []string{auth, ing, kv})
	ingestion, got := relay(t, adapter, "ingestion")
	require.Equal(t, []string{kv}, got, "ingestion forwards only to keyvault")
	_, got = relay(t, ingestion, "keyvault")
	require.Empty(t, got, "keyvault forwards the principal to no one: no assertion for auth reaches it")
	_, got = relay(t, adapter, "auth")
	require.Empty(t, got, "auth forwards the principal to no one")

	// A delegation the receiver holds beyond its own forwards is not passed
	// on either (a caller that sent more than the table gives).
	inference := handle(t, "inference", sign("inference"), []string{ing, kv, auth})
	_, got = relay(t, inference, "ingestion")
	require.Equal(t, []string{kv}, got)
}

// TestForwardingsAndBundle: the edge's and the Slack adapter's ways of
// holding a key's assertions give a call to one service its assertion and
// exactly the delegations asked for.
func TestForwardingsAndBundle(t *testing.T) {
	by := map[string]string{"inference": "INF", "ingestion": "ING", "keyvault": "KV", "auth": "AUTH"}
	delegates := func(aud string) []string {
		if aud == "inference" {
			return []string{"ingestion", "keyvault"}
		}
		return nil
	}
	fs := Forwardings(by, delegates)
	require.Equal(t, Forwarding{Assertion: "INF", Delegated: []string{"ingestion=ING", "keyvault=KV"}}, fs["inference"])
	require.Equal(t, Forwarding{Assertion: "KV"}, fs["keyvault"], "keyvault gets nothing for auth")

	b := NewBundle(by)
	require.Equal(t, fs["inference"], b.Forwarding("inference", delegates("inference")))
	require.Equal(t, Forwarding{Assertion: "AUTH"}, b.Forwarding("auth", nil))
	require.Equal(t, Forwarding{}, b.Forwarding("slackadapter", nil))

	base := metadata.AppendToOutgoingContext(context.Background(), MetadataKey, "OLD", "x-request-id", "r1")
	md, _ := metadata.FromOutgoingContext(fs["inference"].Outgoing(base))
	require.Equal(t, []string{"INF"}, md.Get(MetadataKey), "replaces what the context carried")
	require.Equal(t, []string{"ingestion=ING", "keyvault=KV"}, md.Get(DelegatedKey))
	require.Equal(t, []string{"r1"}, md.Get("x-request-id"))
	md, _ = metadata.FromOutgoingContext(Forwarding{}.Outgoing(base))
	require.Empty(t, md.Get(MetadataKey), "an empty Forwarding removes the assertion")

	_, err := NewSigner("k 1", make([]byte, 64), time.Minute)
	require.True(t, err != nil && !errors.Is(err, ErrInvalid), "a kid with a space would break a Bundle")
}
