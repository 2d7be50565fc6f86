// Package ratelimit throttles requests per API key and per tenant at the
// edge with GCRA (a token bucket expressed as a theoretical arrival time).
// Memory keeps the state in process; Redis keeps it in Redis through
// github.com/go-redis/redis_rate so several edge replicas share one limit,
// falling back to the in-memory limiter if Redis fails (the edge keeps
// limiting per replica rather than failing open or refusing all traffic).
//
// Limits come from the principal (requests_per_minute and
// tenant_requests_per_minute), with configured defaults when a level is 0.
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
