// Package quota enforces per-key and per-tenant token limits from the
// principal's Limits: tokens per minute (a token bucket that refills at
// TPM/60 per second, holds at most one minute's worth, and is charged with
// real usage after each request so it may go into debt) and monthly token
// budgets (calendar month, UTC, seeded from the usage store at first use
// and then counted in memory).
//
// Before a request: an empty bucket → rate_limit_exceeded with the time
// until it refills; a spent budget → insufficient_quota. After: Charge with
// the real (or estimated) token count. TPM buckets live in this replica's
// memory, or, with RAMPART_REDIS_URL or RAMPART_REDIS_CLUSTER_URL set
// (pkg/redisconf), in Redis (RedisBuckets: one Lua
// script refills and spends atomically with Redis' clock) so every replica
// enforces the same limit; if Redis fails, the replica's own buckets decide
// until it is back. Monthly budgets are seeded from the usage store (shared
// when it is PostgreSQL) once per month and counter; with Redis the counters
// live there (MonthCounters: seeded with SET NX, charged with INCRBY — the
// key's and the tenant's counter in one script call — kept a
// day past the month, each under its tenant's hash tag like the buckets,
// ADR 0095) so a tenant's budget is one budget across replicas,
// and without Redis — or while it is down — each replica counts its own.
//
// A key minted or rotated from a key with a TPM limit also draws from that
// key's own bucket at its rate (the principal's tokens_pool, ADR 0076), so
// the keys minted from one limited key share its rate, and from the bucket
// of every narrower limited key between (tokens_pools, ADR 0086), so a
// narrower limit binds what is minted below it; a call's buckets (key,
// pools, tenant) are read and charged in one Redis script call, their keys
// under the tenant's hash tag (one Redis Cluster slot).
//
// The limits come from the principal: the key's own, and the tenant's from
// the tenant record in auth (tenant_* fields). A tenant's budget and TPM
// therefore bind every key of the tenant, including keys minted after the
// budget ran out.
package quota
