// Package store keeps usage records (tenant, key, model, tokens, latency,
// cost) in SQLite by default or PostgreSQL. Every query takes the tenant id
// and filters on it: one tenant's usage is invisible to another.
//
// Recorder batches inserts off the request path (one transaction per batch,
// a few milliseconds at most behind); Flush makes everything recorded so far
// visible before a usage query, and Close flushes at shutdown.
//
// Old usage is rolled up (RollUpRaw, RollUpHourly) into usage_rollups rows
// per key, model and hour or day, one transaction per batch; TokensSince
// and Usage read raw rows and rollups in one statement. The retention
// sweeper (internal/retention) drives the rollups and PurgePromptLogs
// under a TryLease lease.
package store
