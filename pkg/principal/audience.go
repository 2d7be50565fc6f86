package principal

import (
	"context"
	"slices"
	"strings"

	"google.golang.org/grpc/metadata"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
)

// DelegatedKey is the gRPC metadata key of delegated assertions: one value
// per assertion, "<audience>=<assertion>", for the services the called
// service may call further on the principal's behalf (ADR 0083). The
// receiver does not verify them; the service each is for does, when it is
// called with it (ForwardTo). A delegation that differs from the call's
// assertion only in audience and signature (SignEach's) is sent as
// "<audience>=<signature>" (ADR 0098): the receiver rebuilds it from its
// own assertion when it forwards it.
const DelegatedKey = "x-rampart-delegated"

// Delegation is DelegatedKey's value for tok, the assertion for audience,
// on a call whose assertion is assertion: its signature alone when the two
// share everything but audience and signature (ADR 0098), else tok whole.
func Delegation(assertion, audience, tok string) string {
	if sig, ok := compact(assertion, audience, tok); ok {
		return audience + "=" + sig
	}
	return audience + "=" + tok
}

// Delegated returns the audience and the assertion a DelegatedKey value
// stands for on a call whose own assertion is assertion: the value's
// assertion as it is, or, for a signature alone, the one rebuilt from
// assertion (tok is "" when assertion cannot rebuild it). ok is false for
// a value that is no delegation.
func Delegated(assertion, value string) (audience, tok string, ok bool) {
	audience, tok, ok = strings.Cut(value, "=")
	if !ok || audience == "" || tok == "" {
		return "", "", false
	}
	// A signature has no dot; an assertion has four or five parts.
	if !strings.Contains(tok, ".") {
		tok = expand(assertion, audience, tok)
	}
	return audience, tok, true
}

// compact returns tok's signature when tok is assertion with audience and
// signature replaced, both in the audience-bound format: exactly what
// expand rebuilds from assertion and the signature.
func compact(assertion, audience, tok string) (string, bool) {
	kid, _, payload, ok := splitAud(assertion)
	if !ok {
		return "", false
	}
	tkid, taud, tpayload, ok := splitAud(tok)
	if !ok || tkid != kid || taud != audience || tpayload != payload {
		return "", false
	}
	return tok[strings.LastIndexByte(tok, '.')+1:], true
}

// expand is the assertion for audience a compact delegation (its signature
// sig) stands for, rebuilt from the call's own assertion; "" when that is
// not in the audience-bound format (nothing to rebuild from: the callee
// then refuses the call).
func expand(assertion, audience, sig string) string {
	kid, _, payload, ok := splitAud(assertion)
	if !ok {
		return ""
	}
	return versionAud + "." + kid + "." + audience + "." + payload + "." + sig
}

// splitAud splits an audience-bound assertion into its kid, audience and
// payload; ok is false for another format or a malformed one. It checks
// the shape only: the signature is the callee's to verify.
func splitAud(tok string) (kid, audience, payload string, ok bool) {
	rest, ok := strings.CutPrefix(tok, versionAud+".")
	if !ok {
		return "", "", "", false
	}
	kid, rest, _ = strings.Cut(rest, ".")
	audience, rest, _ = strings.Cut(rest, ".")
	payload, sig, _ := strings.Cut(rest, ".")
	if kid == "" || audience == "" || payload == "" || sig == "" || strings.Contains(sig, ".") {
		return "", "", "", false
	}
	return kid, audience, payload, true
}

// Forwarding is what a call to one service carries for a principal: that
// service's assertion and the delegations for the services it forwards
// the principal to. Its slices are shared: read-only.
type Forwarding struct {
	Assertion string
	Delegated []string // "<audience>=<assertion>", DelegatedKey's values
	// MD is Assertion and Delegated as outgoing gRPC metadata (MetadataKey,
	// DelegatedKey), built once with the Forwarding by Forwardings; nil
	// when not built (Only's narrowed copies, Bundle's), and then callers
	// send the pairs. Shared by every call of the key: read-only, so it may
	// go out as it is (metadata.NewOutgoingContext) without grpc-go's
	// lowercasing of appended keys and the per-call copy of the pairs
	// (issue 15, ADR 0121).
	MD metadata.MD
}

// Metadata returns f's assertion and delegations as outgoing metadata:
// what AppendToOutgoingContext(MetadataKey, Assertion, DelegatedKey, each
// of Delegated) sends; nil without an assertion.
func (f Forwarding) Metadata() metadata.MD {
	if f.Assertion == "" {
		return nil
	}
	md := metadata.MD{MetadataKey: {f.Assertion}}
	if len(f.Delegated) > 0 {
		md[DelegatedKey] = slices.Clip(f.Delegated)
	}
	return md
}

// Forwardings returns, for each audience of byAudience, the Forwarding of a
// call to it: its assertion, and delegations for delegates(audience)
// (those byAudience has; compact where they can be, Delegation). Callers
// build them once per verified key.
func Forwardings(byAudience map[string]string, delegates func(audience string) []string) map[string]Forwarding {
	out := make(map[string]Forwarding, len(byAudience))
	for aud, tok := range byAudience {
		f := Forwarding{Assertion: tok}
		for _, d := range delegates(aud) {
			if t, ok := byAudience[d]; ok {
				f.Delegated = append(f.Delegated, Delegation(tok, d, t))
			}
		}
		f.Delegated = slices.Clip(f.Delegated)
		f.MD = f.Metadata()
		out[aud] = f
	}
	return out
}

// Only is f with just the delegations for audiences: what a call whose
// RPC narrows its service's forwards carries (permissions.Table.
// CallDelegates). f itself when it drops none; else a new slice, and no
// MD (the caller sends the pairs).
func (f Forwarding) Only(audiences []string) Forwarding {
	keep := func(v string) bool {
		aud, _, _ := strings.Cut(v, "=")
		return slices.Contains(audiences, aud)
	}
	for i, v := range f.Delegated {
		if keep(v) {
			continue
		}
		out := slices.Clone(f.Delegated[:i])
		for _, w := range f.Delegated[i+1:] {
			if keep(w) {
				out = append(out, w)
			}
		}
		return Forwarding{Assertion: f.Assertion, Delegated: out}
	}
	return f
}

// ByAudience indexes VerifyKey's assertions by audience.
func ByAudience(as []*authv1.AudienceAssertion) map[string]string {
	out := make(map[string]string, len(as))
	for _, a := range as {
		if a.GetAudience() != "" && a.GetAssertion() != "" {
			out[a.GetAudience()] = a.GetAssertion()
		}
	}
	return out
}

// Outgoing returns ctx with f's assertion and delegations on its outgoing
// metadata, replacing any assertion ctx already carried out.
func (f Forwarding) Outgoing(ctx context.Context) context.Context {
	md, _ := metadata.FromOutgoingContext(ctx)
	md = md.Copy()
	md.Delete(MetadataKey)
	md.Delete(DelegatedKey)
	if f.Assertion != "" {
		md.Set(MetadataKey, f.Assertion)
		if len(f.Delegated) > 0 {
			md.Set(DelegatedKey, f.Delegated...)
		}
	}
	return metadata.NewOutgoingContext(ctx, md)
}

// Bundle is one principal's assertions for several audiences as one
// string, "<audience>=<assertion>" separated by spaces: how a service that
// keeps a principal's assertions (the Slack adapter, for its tenant keys)
// holds and passes them without caring about audiences until it calls.
// Assertions hold no spaces (base64url, dots, and a kid without spaces:
// NewSigner).
type Bundle string

// NewBundle makes the Bundle of byAudience.
func NewBundle(byAudience map[string]string) Bundle {
	var b strings.Builder
	for aud, tok := range byAudience {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(aud + "=" + tok)
	}
	return Bundle(b.String())
}

// Forwarding is the Forwarding of a call to audience: its assertion and
// delegations for delegates (those b has). An audience b lacks gives an
// empty Forwarding: the call goes without an assertion and is refused.
func (b Bundle) Forwarding(audience string, delegates []string) Forwarding {
	by := map[string]string{}
	for _, f := range strings.Fields(string(b)) {
		if aud, tok, ok := strings.Cut(f, "="); ok {
			by[aud] = tok
		}
	}
	tok, ok := by[audience]
	if !ok {
		return Forwarding{}
	}
	f := Forwarding{Assertion: tok}
	for _, d := range delegates {
		if t, ok := by[d]; ok {
			f.Delegated = append(f.Delegated, Delegation(tok, d, t))
		}
	}
	return f
}
