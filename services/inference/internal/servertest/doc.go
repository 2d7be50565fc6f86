// Package servertest starts the real inference service in-process for
// inference's own tests: a throwaway PKI, mTLS on loopback, a temporary
// SQLite usage store, a principal signer whose assertions the service
// accepts, and optionally pkg/keyvaulttest and a fake ingestion Search.
//
// It is internal: other modules test against the inference double,
// pkg/inferencetest, and the e2e tests run the real binary (ADR 0047).
package servertest
