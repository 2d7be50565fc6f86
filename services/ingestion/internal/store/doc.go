// Package store is ingestion's SQLite store: tenants' wrapped data keys,
// collections, documents, chunks (text and vectors sealed by the caller,
// never plaintext) and durable jobs. Every query is scoped by tenant except
// UnfinishedJobs, which the worker pool uses to resume after a restart.
package store
