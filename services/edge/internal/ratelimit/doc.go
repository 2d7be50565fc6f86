// Package ratelimit throttles requests per API key, per key rate pool and
// per tenant at the edge with GCRA (a token bucket expressed as a
// theoretical arrival time). A request is charged to all its buckets or to
// none. Memory keeps the state in process; Redis keeps it in Redis (one
// script call per request for all its buckets, redis_rate's arithmetic and
// keys) so several edge replicas share one limit, falling back to the
// in-memory limiter if Redis fails (the edge keeps limiting per replica
// rather than failing open or refusing all traffic).
//
// Limits come from the principal (requests_per_minute and
// tenant_requests_per_minute), with configured defaults when a level is 0.
// A key minted or rotated from a key with an RPM limit carries that key's
// pool (requests_pool, ADR 0076) and is charged to the pool's bucket — the
// first key's own — too, so minting does not multiply the rate; with a
// narrower limited key between them it carries that key's pool as well
// (requests_pools, ADR 0086: every limited ancestor, at most
// principal.MaxRatePools), so a narrower limit binds what is minted below
// it. In Redis a request's buckets share its tenant's hash tag, so on a
// Redis Cluster the one script call finds them in one slot.
// Every response of an authenticated route carries x-ratelimit-limit-requests,
// x-ratelimit-remaining-requests and x-ratelimit-reset-requests; a 429 adds
// retry-after.
//
// Slots (streams.go) caps concurrent long-lived requests per key, the chat
// streams: MemorySlots counts in process; RedisSlots keeps per-key leases
// in a Redis sorted set (scored by expiry on Redis's clock, renewed while
// held, so a crashed edge's slots free themselves) and falls back to memory
// when Redis fails.
package ratelimit
