package principal

import (
	"context"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
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

	each, err := s.SignEach(samplePrincipal(), []string{"inference", "ingestion", "keyvault"}, time.Time{})
	require.NoError(t, err)
	own, ing, kv := each[0], each[1], each[2]
	other, err := newSigner(t, "k1").SignFor(samplePrincipal(), "ingestion", time.Time{})
	require.NoError(t, err)
	for _, tc := range []struct {
		name      string
		delegated []string // what the call brought
		ing       string   // the assertion ForwardTo must present to ingestion
		onward    []string // and the delegations it passes on
	}{
		{"whole assertions", []string{"ingestion=" + ing, "keyvault=" + kv}, ing, []string{"keyvault=" + kv}},
		{"compact: rebuilt from the call's own assertion", []string{Delegation(own, "ingestion", ing), Delegation(own, "keyvault", kv)}, ing, []string{Delegation(own, "keyvault", kv)}},
		{"mixed", []string{"ingestion=" + other, Delegation(own, "keyvault", kv)}, other, []string{Delegation(own, "keyvault", kv)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := incoming(t, own, tc.delegated...)
			md := out(ForwardTo(ctx, "ingestion"))
			require.Equal(t, []string{tc.ing}, md.Get(MetadataKey))
			require.Equal(t, tc.onward, md.Get(DelegatedKey), "ingestion may go on to keyvault")
			md = out(ForwardTo(ctx, "keyvault"))
			require.Equal(t, []string{kv}, md.Get(MetadataKey))
		})
	}
	ctx := incoming(t, own, "ingestion="+ing, "keyvault="+kv)
	var md metadata.MD

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
	// Each hop calls a real RPC of the callee: the receiver keeps only the
	// delegations the table gives a call to it (ADR 0112).
	method := map[string]string{
		"slackadapter": "/rampart.slackadapter.v1.SlackAdapterService/SetBinding",
		"inference":    "/rampart.inference.v1.InferenceService/ChatCompletion",
		"ingestion":    "/rampart.ingestion.v1.IngestionService/Search",
		"keyvault":     "/rampart.keyvault.v1.KmsService/Decrypt",
		"auth":         "/rampart.auth.v1.KeyService/CreateKey",
	}
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
			&grpc.UnaryServerInfo{FullMethod: method[svc]},
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
	md, _ := metadata.FromOutgoingContext(ForwardTo(adapter, "auth"))
	require.Empty(t, md.Get(MetadataKey), "SetBinding's receiver dropped the delegation for auth (ADR 0112)")
	method["slackadapter"] = "/rampart.slackadapter.v1.SlackAdapterService/GetInstallUrl"
	installLink := handle(t, "slackadapter", sign("slackadapter"), []string{auth, ing, kv})
	_, got = relay(t, installLink, "auth")
	require.Empty(t, got, "auth forwards the principal to no one")

	// A delegation the receiver holds beyond its own forwards is not passed
	// on either (a caller that sent more than the table gives).
	inference := handle(t, "inference", sign("inference"), []string{ing, kv, auth})
	_, got = relay(t, inference, "ingestion")
	require.Equal(t, []string{kv}, got)

	// The same hops with one payload and compact delegations (ADR 0098):
	// each hop rebuilds its callee's assertion, which the callee verifies.
	each, err := s.SignEach(samplePrincipal(), []string{"inference", "ingestion", "keyvault", "auth"}, time.Time{})
	require.NoError(t, err)
	d := func(i int, aud string) string { return Delegation(each[0], aud, each[i]) }
	inference = handle(t, "inference", each[0], []string{d(1, "ingestion"), d(2, "keyvault"), d(3, "auth")})
	ingestion, got = relay(t, inference, "ingestion")
	require.Equal(t, []string{d(2, "keyvault")}, got)
	_, got = relay(t, ingestion, "keyvault")
	require.Empty(t, got, "keyvault gets no delegation, compact or whole")
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
	require.Equal(t, Forwarding{Assertion: "INF", Delegated: []string{"ingestion=ING", "keyvault=KV"}}, withoutMD(fs["inference"]))
	require.Equal(t, Forwarding{Assertion: "KV"}, withoutMD(fs["keyvault"]), "keyvault gets nothing for auth")

	b := NewBundle(by)
	require.Equal(t, withoutMD(fs["inference"]), b.Forwarding("inference", delegates("inference")))
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

	// SignEach's assertions share their payload: a delegation is its
	// audience and signature only (ADR 0098), from both ways of holding
	// them.
	s := newSigner(t, "k1")
	auds := []string{"inference", "ingestion", "keyvault", "auth"}
	each, err := s.SignEach(samplePrincipal(), auds, time.Time{})
	require.NoError(t, err)
	by = map[string]string{}
	for i, a := range auds {
		by[a] = each[i]
	}
	sig := func(tok string) string { return tok[strings.LastIndexByte(tok, '.')+1:] }
	fs = Forwardings(by, delegates)
	require.Equal(t, Forwarding{Assertion: by["inference"], Delegated: []string{"ingestion=" + sig(by["ingestion"]), "keyvault=" + sig(by["keyvault"])}}, withoutMD(fs["inference"]))
	require.Equal(t, withoutMD(fs["inference"]), NewBundle(by).Forwarding("inference", delegates("inference")))
}

func withoutMD(f Forwarding) Forwarding {
	f.MD = nil
	return f
}

// TestForwardingsMetadata (ADR 0121): the ready metadata Forwardings builds
// with each Forwarding is what appending its pairs sends (the assertion,
// then the delegations in their order), for a Forwarding with delegations,
// one without and one with an empty assertion; a narrowed copy (Only) that
// drops a delegation carries none, so it never sends what it dropped.
func TestForwardingsMetadata(t *testing.T) {
	by := map[string]string{"inference": "INF", "ingestion": "ING", "keyvault": "KV", "auth": ""}
	fs := Forwardings(by, func(aud string) []string {
		if aud == "inference" {
			return []string{"keyvault", "ingestion"}
		}
		return nil
	})
	for aud, f := range fs {
		if f.Assertion == "" {
			require.Nil(t, f.MD, aud)
			continue
		}
		kv := []string{MetadataKey, f.Assertion}
		for _, d := range f.Delegated {
			kv = append(kv, DelegatedKey, d)
		}
		want, _ := metadata.FromOutgoingContext(metadata.AppendToOutgoingContext(context.Background(), kv...))
		got, _ := metadata.FromOutgoingContext(metadata.NewOutgoingContext(context.Background(), f.MD))
		require.Equal(t, want, got, aud)
		require.Equal(t, f.Metadata(), f.MD, aud)
	}
	require.Equal(t, []string{"keyvault=KV", "ingestion=ING"}, fs["inference"].MD[DelegatedKey], "in the delegations' order")
	require.Nil(t, fs["inference"].Only([]string{"keyvault"}).MD, "narrowed: no ready metadata")
	require.Equal(t, fs["inference"].MD, fs["inference"].Only([]string{"keyvault", "ingestion"}).MD, "nothing dropped: the same")
}

// TestDelegation: a delegation goes as its signature alone only when the
// receiver can rebuild exactly the assertion auth signed from its own.
func TestDelegation(t *testing.T) {
	s := newSigner(t, "k1")
	each, err := s.SignEach(samplePrincipal(), []string{"inference", "ingestion"}, time.Time{})
	require.NoError(t, err)
	inf, ing := each[0], each[1]
	otherKey := samplePrincipal()
	otherKey.KeyId = "ZzZzZz012345"
	ingOther, err := s.SignFor(otherKey, "ingestion", time.Time{})
	require.NoError(t, err)
	otherKid, err := newSigner(t, "k2").SignFor(samplePrincipal(), "ingestion", time.Time{})
	require.NoError(t, err)
	v1Inf, err := s.Sign(samplePrincipal(), time.Time{})
	require.NoError(t, err)
	sig := ing[strings.LastIndexByte(ing, '.')+1:]

	for _, tc := range []struct {
		name, assertion, aud, tok, want string
	}{
		{"same payload: the signature", inf, "ingestion", ing, "ingestion=" + sig},
		{"another principal: whole", inf, "ingestion", ingOther, "ingestion=" + ingOther},
		{"another kid: whole", inf, "ingestion", otherKid, "ingestion=" + otherKid},
		{"the call's assertion in the first format: whole", v1Inf, "ingestion", ing, "ingestion=" + ing},
		{"named for another audience than its own: whole", inf, "keyvault", ing, "keyvault=" + ing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Delegation(tc.assertion, tc.aud, tc.tok)
			require.Equal(t, tc.want, got)
			if d, ok := strings.CutPrefix(got, tc.aud+"="); ok && !strings.Contains(d, ".") {
				require.Equal(t, tc.tok, expand(tc.assertion, tc.aud, d), "rebuilt as signed")
			}
		})
	}
	require.Empty(t, expand(v1Inf, "ingestion", sig), "nothing to rebuild from")
}

// TestAudienceBoundFormat (ADR 0098): the audience is signed outside the
// payload. Moving an assertion to another audience, a signature to
// another payload, or dropping fields from the payload breaks the
// signature; an audience inside the payload as well is refused; the
// first format (an older auth's) still verifies.
func TestAudienceBoundFormat(t *testing.T) {
	s := newSigner(t, "k1")
	keys := StaticKeys{"k1": s.PublicKey()}
	full := samplePrincipal()
	full.BudgetKeyId = "Budget012345"
	full.AllowedModels = []string{"gpt-4o-mini"}
	each, err := s.SignEach(full, []string{"inference", "keyvault"}, time.Time{})
	require.NoError(t, err)
	inf, kv := each[0], each[1]
	ownBudget, err := s.SignFor(samplePrincipal(), "keyvault", time.Time{}) // budget key = key: left out, restored
	require.NoError(t, err)
	old, err := s.SignFor(samplePrincipal(), "keyvault", time.Time{})
	require.NoError(t, err)
	kvSig := kv[strings.LastIndexByte(kv, '.')+1:]
	v1WithAud := func() string { // an older auth's assertion for keyvault
		p := samplePrincipal()
		p.Audience = "keyvault"
		tok, err := s.Sign(p, time.Time{})
		require.NoError(t, err)
		return tok
	}()
	// signedBy signs payload p under the audience-bound format by hand,
	// the way only a holder of auth's key could.
	signedBy := func(aud string, p *authv1.Principal) string {
		p.IssuedAt, p.ExpiresAt = time.Now().Unix(), time.Now().Add(time.Minute).Unix()
		raw, err := proto.Marshal(p)
		require.NoError(t, err)
		signed := "v2.k1." + aud + "." + b64.EncodeToString(raw)
		return signed + "." + b64.EncodeToString(ed25519.Sign(s.key, []byte(signed)))
	}
	audInPayload := samplePrincipal()
	audInPayload.Audience = "keyvault"
	_, _, infPayload, _ := splitAud(inf)
	trimmed := samplePrincipal() // full's payload without its model list, kv's signature kept
	trimmed.BudgetKeyId = "Budget012345"
	trimmedTok := signedBy("keyvault", trimmed)
	trimmedTok = trimmedTok[:strings.LastIndexByte(trimmedTok, '.')+1] + kvSig

	for _, tc := range []struct {
		name   string
		token  string
		want   error
		budget string
	}{
		{"its own audience", kv, nil, "Budget012345"},
		{"the budget key left out is the key", ownBudget, nil, "AbCdEf012345"},
		{"an older auth's first format", v1WithAud, nil, ""},
		{"another service's", inf, ErrAudience, ""},
		{"audience rewritten in clear", strings.Replace(inf, ".inference.", ".keyvault.", 1), ErrInvalid, ""},
		{"keyvault's signature on inference's assertion", inf[:strings.LastIndexByte(inf, '.')+1] + kvSig, ErrInvalid, ""},
		{"a signature moved to another payload", "v2.k1.keyvault." + strings.Split(old, ".")[3] + "." + kvSig, ErrInvalid, ""},
		{"trimmed payload, the full one's signature", trimmedTok, ErrInvalid, ""},
		{"signed, but an audience in the payload too", signedBy("keyvault", audInPayload), ErrInvalid, ""},
		{"empty audience", "v2.k1.." + infPayload + "." + kvSig, ErrInvalid, ""},
		{"audience with a dot", "v2.k1.key.vault." + infPayload + "." + kvSig, ErrInvalid, ""},
		{"forged by another key", func() string { tok, _ := newSigner(t, "k1").SignFor(full, "keyvault", time.Time{}); return tok }(), ErrInvalid, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, v := range []*Verifier{NewVerifier(keys, WithAudience("keyvault")), NewVerifier(keys, WithAudience("keyvault"), WithCache(8))} {
				for range 2 { // the second round hits the cache where there is one
					p, err := v.Verify(tc.token)
					if tc.want != nil {
						require.ErrorIs(t, err, tc.want)
						continue
					}
					require.NoError(t, err)
					require.Equal(t, "keyvault", p.GetAudience())
					require.Equal(t, "t_1", p.GetTenantId())
					if tc.budget != "" {
						require.Equal(t, tc.budget, p.GetBudgetKeyId())
					}
				}
			}
		})
	}
	_, err = s.SignEach(full, []string{"key vault"}, time.Time{})
	require.Error(t, err, "an audience that is no service name")
	_, err = s.SignEach(full, []string{""}, time.Time{})
	require.Error(t, err)
}

// TestForwardingOnly: a call whose RPC narrows its service's forwards
// carries only the delegations for those audiences (ADR 0105 §3), and the
// cached Forwarding it came from is never changed.
func TestForwardingOnly(t *testing.T) {
	all := []string{"auth=a", "ingestion=i", "keyvault=k"}
	f := Forwarding{Assertion: "s", Delegated: all}
	for _, tt := range []struct {
		keep, want []string
	}{
		{[]string{"auth"}, []string{"auth=a"}},
		{[]string{"ingestion", "keyvault"}, []string{"ingestion=i", "keyvault=k"}},
		{nil, nil},
		{[]string{"auth", "ingestion", "keyvault"}, all},
	} {
		got := f.Only(tt.keep)
		require.Equal(t, "s", got.Assertion)
		require.ElementsMatch(t, tt.want, got.Delegated, "%v", tt.keep)
		require.Equal(t, []string{"auth=a", "ingestion=i", "keyvault=k"}, f.Delegated, "the shared slice is unchanged")
	}
}
