// Package store is auth's persistence: tenants, members, API keys, the
// revocation/tenant event log, the hash-chained audit log and the principal
// signing keys.
//
// One implementation serves both dialects: SQLite (modernc.org/sqlite, the
// default, one file in the data directory) and PostgreSQL (pgx), selected by
// the URL given to [Open]. Queries are written once with "?" placeholders and
// rebound to "$n" for PostgreSQL; the schema is a goose migration per dialect
// embedded in the binary, plus one Go migration (version 5,
// ratepools_backfill.go: the keys' rate pools derived from how each key was
// made, ADR 0086) that serves both dialects — the next SQL file is 00006. Every query that touches tenant data takes the
// tenant id and filters on it; the only exception is [Queries.KeyForVerify],
// which is the authentication lookup itself (by globally unique key id).
//
// Times are stored as Unix nanoseconds (0 = unset), lists as JSON text.
// Key secrets are never stored: only the per-key salt and SHA-256 hash.
package store
