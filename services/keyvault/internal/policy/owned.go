package policy

import (
	"slices"
	"strings"

	"github.com/rampart-platform/rampart/pkg/pki"
)

// scopeAdmin is auth's all-scopes scope.
const scopeAdmin = "admin"

// servicePrefixes maps the second segment of a secret name ("/{env}/<svc>/…")
// to the SPIFFE ID of the service that owns everything below it. These are
// credentials a service holds for itself (the Slack app's signing secret,
// workspace bot tokens, data-source OAuth client secrets, upstream provider
// keys): only the service reads, writes, rotates or deletes them. Built in,
// not configurable: no policy file can hand them to user keys.
var servicePrefixes = map[string]string{
	"slackadapter":  pki.ServiceID("slackadapter"),
	"slack-adapter": pki.ServiceID("slackadapter"),
	"ingestion":     pki.ServiceID("ingestion"),
	"inference":     pki.ServiceID("inference"),
}

// Services lists the short names of the services that own secrets, sorted
// (metrics use them as a fixed label set).
func Services() []string {
	out := []string{}
	for _, id := range servicePrefixes {
		if n := ServiceName(id); !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// ServiceName is the short name of a service SPIFFE ID
// ("spiffe://rampart.local/svc/ingestion" → "ingestion"; "" otherwise).
func ServiceName(id string) string {
	name, ok := strings.CutPrefix(id, pki.ServiceID(""))
	if !ok {
		return ""
	}
	return name
}

// userProxies are the callers that act for a user's principal (the edge
// relays REST/gRPC requests, the CLI is an operator's tool). Every other
// caller is a service acting for itself, and the secrets it creates are
// its own (see IsService).
var userProxies = []string{pki.ServiceID("edge"), pki.ServiceID("rampart-cli")}

// Owner returns the SPIFFE ID of the service that owns name by its prefix
// ("" for a tenant secret). The environment segment is not compared: a
// "/staging/slackadapter/…" name in a prod deployment is still the
// adapter's, so a user cannot park a look-alike credential next to it.
func Owner(name string) string {
	// The second segment, found in place: this runs on every read (policy
	// and metrics), and strings.SplitN allocated a slice each time.
	_, rest, ok := strings.Cut(strings.TrimPrefix(name, "/"), "/")
	if !ok {
		return ""
	}
	svc, _, _ := strings.Cut(rest, "/")
	return servicePrefixes[svc]
}

// IsService reports whether caller is a service acting for itself rather
// than a proxy of a user's principal. A secret such a caller creates is
// owned by it (the vault records the owner and applies the same rule as
// for prefixes).
func IsService(caller string) bool {
	for _, p := range userProxies {
		if caller == p {
			return false
		}
	}
	return caller != ""
}

// OwnerAllows reports whether caller may take action on a secret recorded
// as owned by owner ("" = not service-owned): only the owner, except that
// anyone the rules admit may describe it.
func OwnerAllows(owner, caller, action string) bool {
	return owner == "" || owner == caller || action == ActionDescribe
}
