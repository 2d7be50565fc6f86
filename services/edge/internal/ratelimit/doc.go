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
package ratelimit
