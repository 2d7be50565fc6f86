package permissions

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/rampart-platform/rampart/pkg/authz"
	"github.com/rampart-platform/rampart/pkg/pki"
)

// CallerIDs returns the SPIFFE ids of an RPC's callers, sorted.
func (r *RPC) CallerIDs() []string {
	out := make([]string, len(r.Callers))
	for i, c := range r.Callers {
		out[i] = pki.ServiceID(c)
	}
	slices.Sort(out)
	return out
}

// CheckPolicy compares a service's authz allow-list (pkg/authz's JSON
// format) with the table for the gRPC services it serves (full names such
// as "rampart.auth.v1.KeyService"). Every RPC of those services must allow
// exactly the table's callers; a rule naming a method or service the table
// does not list is an error too. The gRPC health and reflection services
// are outside the table and ignored.
func (t *Table) CheckPolicy(policyJSON []byte, services ...string) error {
	p, err := authz.ParsePolicy(policyJSON)
	if err != nil {
		return err
	}
	owned := map[string]bool{}
	for _, s := range services {
		owned["/"+s] = true
	}
	var errs []error
	for _, rule := range p.Rules {
		for _, m := range rule.Methods {
			if strings.HasPrefix(m, "/grpc.") {
				continue
			}
			svc, method, _ := strings.Cut(strings.TrimPrefix(m, "/"), "/")
			if !owned["/"+svc] {
				errs = append(errs, fmt.Errorf("policy names %s, which is not a service this check covers (%s)", m, strings.Join(services, ", ")))
				continue
			}
			if method != "*" {
				if _, ok := t.RPC(m); !ok {
					errs = append(errs, fmt.Errorf("policy names %s, which the permission table does not list", m))
				}
			}
		}
	}
	for _, r := range t.rpcs {
		if !owned[r.Service()] {
			continue
		}
		got := allowedCallers(p, r.Name)
		if want := r.CallerIDs(); !slices.Equal(got, want) {
			errs = append(errs, fmt.Errorf("%s: policy allows %v, the permission table says %v", r.Name, got, want))
		}
	}
	for _, s := range services {
		found := false
		for _, r := range t.rpcs {
			found = found || r.Service() == "/"+s
		}
		if !found {
			errs = append(errs, fmt.Errorf("service %s has no RPC in the permission table", s))
		}
	}
	return errors.Join(errs...)
}

// allowedCallers is the sorted set of callers a policy admits to method.
func allowedCallers(p *authz.Policy, method string) []string {
	svc := method[:strings.LastIndexByte(method, '/')]
	set := map[string]bool{}
	for _, rule := range p.Rules {
		if slices.Contains(rule.Methods, method) || slices.Contains(rule.Methods, svc+"/*") {
			for _, c := range rule.Callers {
				set[c] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for c := range set {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}
