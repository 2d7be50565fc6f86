// Package tenantevents follows auth's WatchTenantEvents stream and purges a
// tenant's ingestion data (rows, wrapped key, lexical index directory,
// cached keys and vectors) when auth reports the tenant purged. The stream
// position is saved after each handled event, so a reconnect or restart
// resumes where it stopped; a failed purge is retried (purging is
// idempotent) before the cursor moves on.
package tenantevents
