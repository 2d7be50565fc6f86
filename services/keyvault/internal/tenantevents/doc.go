// Package tenantevents follows auth's WatchTenantEvents stream and
// crypto-shreds a tenant's keyvault data when auth reports it purged. The
// stream position is saved in keyvault's store after each event is handled,
// so a reconnect or a restart resumes where it stopped; a purge whose shred
// failed is retried (shredding is idempotent) before the cursor moves on.
package tenantevents
