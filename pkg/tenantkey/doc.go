// Package tenantkey is the one way a service holds tenants' data keys
// (ADR 0092): ingestion's keyring and inference's prompt-log keys use it.
//
// Loader gets a tenant's 256-bit data key: the wrapped key the service
// stored, else (when asked to create) a new one from keyvault's
// GenerateDataKey stored first-writer-wins (another replica's key is used
// when it won the race), unwrapped through keyvault's Decrypt with the
// caller's forwarded principal. Only the wrapped key is ever stored.
//
// Cache keeps what a service makes of each tenant's data key (an AEAD,
// derived keys) in memory, bounded (LRU) and for at most a TTL, with one
// load per tenant in flight. Forget and ForgetAll (a purge, keyvault's
// shred stream, ADR 0084) drop a tenant's key at once, the one a load in
// flight is unwrapping included: the in-flight loads are tracked under the
// cache's own lock, so "was it dropped?" and the insert are one step that
// no Forget can fall between, and that load's callers get ErrDropped.
//
// Keys joins the two with the service's last step (derive), which stays
// in the service.
package tenantkey
