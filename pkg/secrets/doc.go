// Package secrets is the client library other Rampart services use to read
// secrets: one Source interface with two implementations — keyvault over
// mTLS gRPC (NewKeyvault) and AWS Secrets Manager + SSM Parameter Store
// (package awssm) — and a Cache in front of either.
//
// The Cache gives a jittered TTL (default 5 min), a bounded LRU, singleflight
// on misses, stale-if-error up to a bound, exponential backoff with full
// jitter on transient failures, a circuit breaker (sony/gobreaker) and
// Prometheus counters (hits, misses, stale serves, upstream errors) on an
// injectable registerer. Entries are keyed by scope (by default the tenant of
// the verified principal in the context) so one tenant never reads another's
// cached value.
package secrets
