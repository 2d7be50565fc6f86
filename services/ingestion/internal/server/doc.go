// Package server is the ingestion service's gRPC surface: handlers that
// take the tenant from the verified principal, call the ingest domain and
// translate its results and errors (pkg/grpcerr), plus the wiring of the
// process (keyvault KMS client, store, index, worker pool).
package server
