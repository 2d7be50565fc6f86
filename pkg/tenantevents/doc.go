// Package tenantevents follows the streams that tell a service to destroy
// or drop a tenant's data.
//
// Watcher follows auth's WatchTenantEvents stream for a service that keeps
// tenant data and must destroy it when auth purges a tenant (keyvault
// crypto-shreds, ingestion deletes its index and chunks). The stream
// position is saved in the service's own store after each event is
// handled, so a restart resumes where it stopped; a reconnect resumes
// after the last event this process handled — the saved cursor is shared
// by the service's replicas, and one whose stream was down must still
// hear of the events another replica handled meanwhile (ADR 0134). A purge
// whose handler failed is retried (handlers must be idempotent) before the
// cursor moves on. Its optional Suspended hook is told of a tenant
// suspended or deleted, to drop in-memory state that lets background work
// run for it (ingestion's cached data key, ADR 0115).
//
// ShredWatcher follows keyvault's WatchShreds stream for a service that
// caches tenants' unwrapped data keys (ingestion, inference) and drops a
// crypto-shredded tenant's keys at once (ADR 0084); its cursor lives in
// memory, as the caches do.
package tenantevents
