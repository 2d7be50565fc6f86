// Package store is ingestion's database: an embedded SQLite file (the
// default) or PostgreSQL shared by several replicas. It keeps tenants'
// wrapped data keys, collections, documents, chunks (text and vectors
// sealed by the caller, never plaintext) and durable jobs. Every query is
// scoped by tenant except the job claims (ClaimNext, WaitingTenants), which
// the worker pools of all replicas use to share the queue.
//
// Jobs are claimed with a lease (FOR UPDATE SKIP LOCKED on PostgreSQL) and
// every write of a job's progress or outcome is fenced on the claim, so a
// job runs to completion on one replica at a time and is retaken when the
// lease of a replica that died expires. Each collection carries a
// generation, bumped with every change of its chunks, so replicas notice
// that their search indexes are stale.
package store
