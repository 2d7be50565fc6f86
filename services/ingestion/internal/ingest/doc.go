// Package ingest is the ingestion domain: collections, documents, durable
// jobs processed by a worker pool (extract → chunk → embed → seal → index),
// and hybrid search. It knows nothing of gRPC; callers pass the tenant from
// the verified principal and a context that carries that principal (so
// keyvault unwraps only that tenant's key).
package ingest
