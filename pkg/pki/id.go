package pki

import (
	"fmt"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// TrustDomain is the SPIFFE trust domain of every Rampart identity.
const TrustDomain = "rampart.local"

// ParseID parses s as a SPIFFE ID and requires it to belong to TrustDomain,
// so a certificate for a foreign trust domain can never be issued or accepted.
func ParseID(s string) (spiffeid.ID, error) {
	id, err := spiffeid.FromString(s)
	if err != nil {
		return spiffeid.ID{}, fmt.Errorf("parse SPIFFE ID %q: %w", s, err)
	}
	if id.TrustDomain().Name() != TrustDomain {
		return spiffeid.ID{}, fmt.Errorf("SPIFFE ID %q: trust domain must be %q", s, TrustDomain)
	}
	if id.Path() == "" {
		return spiffeid.ID{}, fmt.Errorf("SPIFFE ID %q: a workload ID needs a path", s)
	}
	return id, nil
}

// ServiceID returns the SPIFFE ID of a Rampart service, e.g.
// spiffe://rampart.local/svc/auth.
func ServiceID(name string) string { return "spiffe://" + TrustDomain + "/svc/" + name }

// ClientID returns the SPIFFE ID of an internal caller from another team,
// e.g. spiffe://rampart.local/client/billing.
func ClientID(name string) string { return "spiffe://" + TrustDomain + "/client/" + name }
