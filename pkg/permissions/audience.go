package permissions

import (
	"fmt"
	"slices"
	"strings"
)

// Audiences of principal assertions (ADR 0083). Every assertion names the
// one service it is for; the receiving service refuses any other. Which
// assertions a service holds follows from the table:
//
//   - a caller asks auth's VerifyKey for assertions only for the services
//     it calls with a principal (Callees) and those that they forward the
//     principal to (Delegates);
//   - a call to service S carries S's assertion and, as delegations, the
//     assertions for Delegates(S): what S needs to act further on the
//     principal's behalf, and nothing else.

// forwards lists, per service, the services it calls on the principal it
// received (rather than on an assertion of its own): inference searches
// and lists collections in ingestion and unwraps the tenant's data keys in
// keyvault; ingestion reads its connection secrets and the tenant's data
// keys in keyvault; the Slack adapter creates its tenant key in auth and
// checks a binding's collections in ingestion on the installing admin's
// principal. Keyvault calls auth on its own keys' assertions (rotation),
// so it forwards nothing. Each entry must be a Callee (TestForwardsAreCallees).
// An RPC's row may narrow its service's list for calls to it
// (RPC.Forwards, CallDelegates): the Slack adapter's admin calls do (ADR
// 0105 §3), only the install link carrying a delegation for auth.
var forwards = map[string][]string{
	Inference:    {Ingestion, Keyvault},
	Ingestion:    {Keyvault},
	SlackAdapter: {Auth, Ingestion},
}

// ServiceOf is the Rampart service serving the full gRPC method rpc
// ("/rampart.keyvault.v1.KmsService/Decrypt" → "keyvault"), "" for a name
// outside Rampart's packages.
func ServiceOf(rpc string) string {
	rest, ok := strings.CutPrefix(rpc, "/rampart.")
	if !ok {
		return ""
	}
	svc, _, ok := strings.Cut(rest, ".")
	if !ok {
		return ""
	}
	return svc
}

// Callees are the services whose RPCs taking a principal list caller,
// sorted.
func (t *Table) Callees(caller string) []string {
	var out []string
	for _, r := range t.rpcs {
		if r.Principal && slices.Contains(r.Callers, caller) {
			out = append(out, ServiceOf(r.Name))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Forwards are the services svc calls on a principal it received (see
// forwards), sorted.
func (t *Table) Forwards(svc string) []string {
	return slices.Sorted(slices.Values(forwards[svc]))
}

// Delegates are the services a call to target must carry assertions for,
// besides target's own: every service target forwards the principal to,
// and theirs in turn, sorted, target itself excluded.
func (t *Table) Delegates(target string) []string {
	seen := map[string]bool{target: true}
	var out []string
	next := []string{target}
	for len(next) > 0 {
		svc := next[0]
		next = next[1:]
		for _, d := range forwards[svc] {
			if !seen[d] {
				seen[d] = true
				out = append(out, d)
				next = append(next, d)
			}
		}
	}
	slices.Sort(out)
	return out
}

// CallDelegates are the services a call to the RPC rpc carries
// delegations for, when its row narrows its service's forwards
// (RPC.Forwards: the services it forwards to, and theirs in turn, sorted);
// narrowed is false for every other RPC, whose calls carry
// Delegates(ServiceOf(rpc)). The edge narrows a route's forwarding with
// it: a Slack admin route that creates no key carries no delegation for
// auth (ADR 0105 §3).
func (t *Table) CallDelegates(rpc string) (delegates []string, narrowed bool) {
	d, ok := t.callDelegates[rpc]
	return d, ok
}

// ReceivedDelegates are the services whose delegations the receiver of a
// call to the RPC rpc keeps (ADR 0112): CallDelegates when its row
// narrows them, else Delegates of its service for an RPC taking a
// principal; none for an RPC that takes no principal or is not in the
// table (default deny). The principal interceptor of every backend drops
// the others before the handler runs, so a sender that forwards more
// than the table says (a compromised or buggy edge) hands the receiver
// nothing it could act on. The answer is shared: read-only.
func (t *Table) ReceivedDelegates(rpc string) []string {
	return t.received[rpc]
}

// receivedDelegates computes ReceivedDelegates for every RPC of the
// table; RPCs without delegations are left out.
func (t *Table) receivedDelegates() map[string][]string {
	out := map[string][]string{}
	for _, r := range t.rpcs {
		if !r.Principal {
			continue
		}
		d, narrowed := t.callDelegates[r.Name]
		if !narrowed {
			d = t.Delegates(ServiceOf(r.Name))
		}
		if len(d) > 0 {
			out[r.Name] = d
		}
	}
	return out
}

// narrowedDelegates computes CallDelegates for every RPC whose row sets
// Forwards: each must take a principal and be one of its service's
// forwards, so narrowing never adds an audience (Audiences and every
// later hop's ForwardTo follow the service's list).
func (t *Table) narrowedDelegates() (map[string][]string, error) {
	out := map[string][]string{}
	for _, r := range t.rpcs {
		if r.Forwards == nil {
			continue
		}
		svc := ServiceOf(r.Name)
		if !r.Principal {
			return nil, fmt.Errorf("permissions: RPC %s forwards a principal it does not take", r.Name)
		}
		var d []string
		for _, f := range r.Forwards {
			if !slices.Contains(forwards[svc], f) {
				return nil, fmt.Errorf("permissions: RPC %s forwards to %s, which %s does not forward to", r.Name, f, svc)
			}
			d = append(d, f)
			d = append(d, t.Delegates(f)...)
		}
		slices.Sort(d)
		out[r.Name] = slices.DeleteFunc(slices.Compact(d), func(s string) bool { return s == svc })
	}
	return out, nil
}

// Audiences are the services caller may obtain assertions for from
// VerifyKey: its Callees and their Delegates, sorted.
func (t *Table) Audiences(caller string) []string {
	return slices.Clone(t.audiences[caller])
}

// MayObtain reports whether caller may obtain an assertion for audience
// (one of its Audiences): auth's check on every VerifyKey, a look-up in
// what New computed rather than a scan of every RPC.
func (t *Table) MayObtain(caller, audience string) bool {
	return slices.Contains(t.audiences[caller], audience)
}

// allAudiences computes Audiences for every service that calls some RPC;
// any other name has none. The table never changes after New.
func (t *Table) allAudiences() map[string][]string {
	out := map[string][]string{}
	for _, r := range t.rpcs {
		for _, c := range r.Callers {
			if _, ok := out[c]; !ok {
				out[c] = t.scanAudiences(c)
			}
		}
	}
	return out
}

// scanAudiences is Audiences computed from the RPC rows.
func (t *Table) scanAudiences(caller string) []string {
	var out []string
	for _, c := range t.Callees(caller) {
		out = append(out, c)
		out = append(out, t.Delegates(c)...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
