// Package authn authenticates API keys at the edge and authorizes the
// route they call.
//
// The path of a request: the key is taken from "Authorization: Bearer" (or
// "x-api-key"), its format and checksum are checked with pkg/apikey (a typo
// never reaches auth), then a bounded cache of verified keys is consulted —
// keyed by the key id and the SHA-256 of the whole presented key, so a wrong
// secret can never match a cached entry — and on a miss auth's VerifyKey is
// called once per distinct key (singleflight). A watcher follows auth's
// WatchRevocations stream and evicts revoked keys and suspended tenants as
// soon as the event arrives; while the stream is down the cache TTL drops to
// a second, so a missed revocation is honoured within that second.
//
// The verified principal and its signed assertion travel in the request
// context; FromContext returns them to the gateway and the OpenAI handlers.
// The Policy is the edge's view of the one permission table
// (pkg/permissions): the middleware refuses a key lacking the route's scopes
// or whose subject's role is below the route's minimum, enforces the key's
// allowed_endpoints, and answers 404/405 (after authentication) for a
// request no route of the table matches.
package authn
