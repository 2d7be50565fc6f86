// Package tenantevents follows auth's WatchTenantEvents stream for a service
// that keeps tenant data and must destroy it when auth purges a tenant
// (keyvault crypto-shreds, ingestion deletes its index and chunks). The
// stream position is saved in the service's own store after each event is
// handled, so a reconnect or a restart resumes where it stopped; a purge
// whose handler failed is retried (handlers must be idempotent) before the
// cursor moves on.
package tenantevents
