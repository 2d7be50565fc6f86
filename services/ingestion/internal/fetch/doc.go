// Package fetch downloads one document over http(s) for ingestion, with an
// SSRF guard and an optional caller-supplied bearer token that is sent on
// that one request and nowhere else: it is not kept, logged, or put in
// errors.
//
// The guard runs in the dialer's Control hook, after DNS resolution, on the
// address actually dialled (so rebinding and redirects cannot slip through),
// and refuses every address that IANA's special-purpose registries mark as
// not globally reachable, plus IPv6 transition forms that could carry an
// internal IPv4 address (code.dny.dev/ssrf's deny list).
package fetch
