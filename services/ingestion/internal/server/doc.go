// Package server is the ingestion service's gRPC surface: handlers that
// take the tenant from the verified principal, call the ingest domain and
// translate its results and errors (pkg/grpcerr), and the embedded
// per-method caller allow-list. The process is assembled in internal/app.
package server
