// Package app is the ingestion service's constructor on pkg/backend: Run
// dials keyvault (KMS and secrets), inference (embeddings) and auth
// (tenant events), Build opens the store and the indexes and assembles the
// ingest domain, and the setup registers the gRPC handlers of
// internal/server, the worker pool and the tenant-event stream as backend
// tasks, and the index, store and connections as closers (run after the
// tasks stopped). Tests build through Build too.
package app
