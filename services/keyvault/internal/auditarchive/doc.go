// Package auditarchive moves keyvault's audit chain links older than the
// retention (AUDIT_RETENTION) out of the database into an archive
// (AUDIT_ARCHIVE) before deleting them: a directory in development, an S3
// bucket in production. Each object holds a contiguous run of links, one
// JSON object a line, with their sequence numbers and hashes, so the
// archive and the table together verify as one chain (Verify). A link is
// deleted only after the object holding it was written and read back;
// deletion is fenced on the last archived link, so two replicas racing
// archive each run once.
package auditarchive
