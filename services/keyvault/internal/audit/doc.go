// Package audit records every keyvault access and change: actor, action,
// secret name, version, result and request id. Values are never written;
// where a value must be correlated its HMAC-SHA256 under a per-deployment
// audit key is recorded instead (Vault's model).
//
// Auditing is fail-closed: [Sink.Write] returns only once the record is in
// the log, and callers fail the request if it returns an error. The file
// sink batches concurrent records into one write, the chain sink
// (PostgreSQL) into one transaction (group commit), so auditing every read
// stays cheap; either releases a caller only once its batch is written.
package audit
