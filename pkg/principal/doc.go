// Package principal signs and verifies principal assertions: the compact,
// Ed25519-signed statement from auth of whom a request acts for (tenant, key,
// subject, roles, scopes, limits), valid for a few minutes.
//
// The edge forwards the assertion as gRPC metadata "x-rampart-principal".
// Every backend installs this package's interceptors and takes the tenant
// only from the verified assertion — never from a request field. mTLS says
// which service is calling; the assertion says on whose behalf, and for
// which one service (its audience, ADR 0083): a service's verifier
// (WithAudience) refuses an assertion for another service or for none. A
// call carries its receiver's assertion and, as delegations
// ("x-rampart-delegated"), the assertions for the services the receiver
// forwards the principal to; ForwardTo sends the one for the callee. The
// receiver's interceptor keeps only the delegations the permission table
// gives a call to the called RPC (permissions.Table.ReceivedDelegates,
// ADR 0112), whatever its sender forwarded.
//
// Wire format: "v1.<kid>.<base64url(proto Principal)>.<base64url(signature)>",
// the signature covering everything before the last dot; auth signs
// "v2.<kid>.<audience>.<base64url(proto Principal)>.<base64url(signature)>"
// (ADR 0098): the audience outside the payload, so that one payload serves
// every audience of a key and a call's delegations go as "<audience>=
// <signature>" (Delegation, Delegated). Verifiers accept both. Protobuf keeps the
// payload small and the verify path allocation-light. The payload only
// gains fields, so the format stays "v1": a verifier built before a field
// existed skips it (as protobuf does unknown fields) and enforces what it
// knows, and an assertion from an older auth lacks it — the rate pools
// (requests_pool, tokens_pool; ADR 0076) are read as "no pool" then, the
// behaviour before them; the nested pools (requests_pools, tokens_pools;
// ADR 0086) are read as the one outer pool then ([RatePools]). A field whose absence would widen access must not
// be added this way; it needs a new version. The audience is such a field
// added the other way round: its absence narrows (refused by every
// verifier with an audience), so it stays "v1".
package principal
