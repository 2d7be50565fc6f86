// Package keyring holds the adapter's local key-encryption key (a 32-byte
// file, mode 0600, generated in the data dir on first start). It seals the
// per-tenant Rampart API keys (AES-256-GCM, AAD = tenant id) and the
// operator's Slack app credentials (AAD "slack-app", ADR 0013) at rest, and
// signs OAuth install states (HMAC-SHA256 under a key derived from it).
// Workspace bot tokens are never sealed here: they live in keyvault.
package keyring
