// Package fetch downloads one document over http(s) for ingestion, with an
// SSRF guard (the dialer refuses loopback, private, link-local, multicast
// and unspecified addresses after DNS resolution, so rebinding cannot slip
// through) and an optional caller-supplied bearer token that is sent on that
// one request and nowhere else: it is not kept, logged, or put in errors.
package fetch
